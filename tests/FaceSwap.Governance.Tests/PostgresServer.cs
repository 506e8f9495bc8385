using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FaceSwap.Governance.Tests;

/// <summary>
/// A throw-away PostgreSQL server for the tests: initdb into a temp folder, started on a free port with its socket
/// in that folder, stopped and deleted at the end. Debian's postgresql package (scripts/setup.sh installs it) is
/// required: without it the fixture fails and says so. As root it runs as the postgres user, which initdb needs.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fsc-pg-").FullName;
    private readonly string _bin;
    private readonly bool _asPostgres = Environment.UserName == "root";

    public PostgresServer()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().LastOrDefault()
              ?? throw new InvalidOperationException("/usr/lib/postgresql holds no initdb")
            : throw new InvalidOperationException("PostgreSQL is not installed (Debian package postgresql; scripts/setup.sh installs it)");
        if (_asPostgres) Run("chown", ["postgres", _dir]);
        var data = Path.Combine(_dir, "data");
        Run(Path.Combine(_bin, "initdb"), ["-D", data, "-U", "fsc", "--auth=trust", "-E", "UTF8", "--no-sync"], postgres: true);
        Port = FreePort();
        Run(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-w", "-t", "60", "-l", Path.Combine(_dir, "server.log"), "-o", $"-p {Port} -k {_dir} -c listen_addresses=''", "start"], postgres: true);
        ConnectionString = $"Host={_dir};Port={Port};Username=fsc;Database=postgres;Pooling=false";
    }

    public int Port { get; }
    public string ConnectionString { get; }

    /// <summary>A fresh database on this server, so tests do not see each other's rows.</summary>
    public string NewDatabase()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE {name}";
        command.ExecuteNonQuery();
        return $"Host={_dir};Port={Port};Username=fsc;Database={name};Pooling=false";
    }

    private void Run(string file, string[] args, bool postgres = false)
    {
        var start = postgres && _asPostgres
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. args])
            : new ProcessStartInfo(file, args);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {output.Result}{errors.Result}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            Run(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "stop"], postgres: true);
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
