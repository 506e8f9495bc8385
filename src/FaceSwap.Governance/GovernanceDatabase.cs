using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FaceSwap.Governance;

/// <summary>Where the consent registry and the audit log live: an embedded SQLite file, or a PostgreSQL server.</summary>
public enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Opens the databases that the consent registry and the audit log keep: an embedded SQLite file by default
/// ("Data Source=…"), or a PostgreSQL server when the connection string names a host ("Host=…;Database=…").
/// </summary>
public static class GovernanceDatabase
{
    /// <summary>Which database a connection string names: a host or server makes it PostgreSQL, anything else SQLite.</summary>
    public static DatabaseKind KindOf(string connectionString)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return builder.ContainsKey("Host") || builder.ContainsKey("Server") ? DatabaseKind.Postgres : DatabaseKind.Sqlite;
    }

    /// <summary>Opens either kind; SQLite with <see cref="OpenSqlite"/>'s settings, PostgreSQL as it is configured.</summary>
    public static (DbConnection Connection, DatabaseKind Kind) Open(string connectionString, bool fullSync, bool secureDelete = false)
    {
        if (KindOf(connectionString) == DatabaseKind.Sqlite)
            return (OpenSqlite(connectionString, fullSync, secureDelete), DatabaseKind.Sqlite);
        // Durability and row removal are the server's settings (synchronous_commit, autovacuum): nothing to set per connection.
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            connection.Open();
            return (connection, DatabaseKind.Postgres);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

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
