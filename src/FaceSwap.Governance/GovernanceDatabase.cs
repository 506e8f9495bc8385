using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace FaceSwap.Governance;

/// <summary>Opens the embedded SQLite files that the consent registry and the audit log keep.</summary>
public static class GovernanceDatabase
{
    /// <summary>How long a statement waits for another process's write lock before it fails.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A connection string for a SQLite file; unpooled, so disposing the owner closes the file.</summary>
    public static string SqliteConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = false }.ToString();

    /// <summary>
    /// Opens a SQLite connection in WAL mode (readers never wait for the writer, and another process can
    /// share the file) with a busy timeout so two processes' writes queue instead of failing.
    /// </summary>
    /// <param name="fullSync">synchronous=FULL: every commit is on disk before it returns.</param>
    /// <param name="secureDelete">Overwrite deleted rows with zeros, so what is deleted is gone from the file too.</param>
    public static SqliteConnection OpenSqlite(string connectionString, bool fullSync, bool secureDelete = false)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.DataSource is { Length: > 0 } file && builder.Mode != SqliteOpenMode.Memory && !file.StartsWith(':'))
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};");
            Execute(connection, "PRAGMA journal_mode = WAL;");
            Execute(connection, fullSync ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
            if (secureDelete)
                Execute(connection, "PRAGMA secure_delete = ON;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    internal static void Execute(DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
