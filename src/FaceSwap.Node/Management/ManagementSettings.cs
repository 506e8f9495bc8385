using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using FaceSwap.Cluster.Configuration;

namespace FaceSwap.Node.Management;

/// <summary>The <c>faceswap.management</c> section: where the node's HTTP endpoint listens and how its API is protected.</summary>
/// <param name="RequestsPerSecond">API requests a client address may make per second, beyond its burst (probes and metrics are not limited)</param>
/// <param name="Burst">requests a client may make at once</param>
public sealed record ManagementSettings(bool Enabled, string Hostname, int Port, string? Token, string TokenFile, int LogLines,
    int RequestsPerSecond = 20, int Burst = 40)
{
    /// <summary>The API takes its arguments in the query: a body this large is refused before anything reads it.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    public static ManagementSettings From(Config config, string source)
    {
        var hostname = config.GetString("faceswap.management.hostname", "127.0.0.1");
        if (!IPAddress.TryParse(hostname, out _) && hostname != "localhost")
            throw new ArgumentException($"{source}: faceswap.management.hostname '{hostname}' must be an IP address to bind (0.0.0.0: every interface)");
        var port = config.GetInt("faceswap.management.port", 9110);
        if (port is < 0 or > 65535) throw new ArgumentException($"{source}: faceswap.management.port {port} is not a port");
        var lines = config.GetInt("faceswap.management.log-lines", 1000);
        if (lines < 1) throw new ArgumentException($"{source}: faceswap.management.log-lines {lines} must be at least 1");
        return new ManagementSettings(
            config.GetBoolean("faceswap.management.enabled", true),
            hostname,
            port,
            config.GetString("faceswap.management.token", "") is { Length: > 0 } token ? token : null,
            FscSettings.Absolute(config.GetString("faceswap.management.token-file", ".cache/management.token")),
            lines,
            Positive(config.GetInt("faceswap.management.rate-limit.requests-per-second", 20), "rate-limit.requests-per-second", source),
            Positive(config.GetInt("faceswap.management.rate-limit.burst", 40), "rate-limit.burst", source));
    }

    private static int Positive(int value, string key, string source) =>
        value >= 1 ? value : throw new ArgumentException($"{source}: faceswap.management.{key} {value} must be at least 1");
}

/// <summary>
/// The tokens the management API accepts: the configured one, or every line of the token file, re-read when the
/// file changes (a rotation needs no restart). A missing file is made with a random token, owner-only.
/// </summary>
public sealed class ManagementTokens
{
    private readonly string? _fixed;
    private readonly string _file;
    private readonly Lock _lock = new();
    private DateTime _readAt;
    private byte[][] _tokens = [];

    public ManagementTokens(ManagementSettings settings) : this(settings.Token, settings.TokenFile)
    {
    }

    /// <param name="token">the one token accepted; null: the lines of <paramref name="file"/></param>
    public ManagementTokens(string? token, string file)
    {
        _fixed = token?.Trim(); // a Secret file's trailing newline is no part of the token
        _file = file;
        if (_fixed is null) Ensure(_file);
    }

    /// <summary>Creates <paramref name="file"/> with one random token unless it exists; returns its first token.</summary>
    public static string Ensure(string file)
    {
        if (!File.Exists(file))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(file, options))
                stream.Write(Encoding.UTF8.GetBytes(token + "\n"));
        }
        return Read(file).FirstOrDefault() ?? throw new ArgumentException($"{file}: the token file holds no token");
    }

    private static string[] Read(string file) =>
        [.. File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];

    public bool Accepts(string? presented)
    {
        if (string.IsNullOrEmpty(presented)) return false;
        var bytes = Encoding.UTF8.GetBytes(presented);
        return Current().Any(t => CryptographicOperations.FixedTimeEquals(t, bytes));
    }

    private byte[][] Current()
    {
        if (_fixed is not null) return [Encoding.UTF8.GetBytes(_fixed)];
        lock (_lock)
        {
            var written = File.Exists(_file) ? File.GetLastWriteTimeUtc(_file) : DateTime.MinValue;
            if (written != _readAt)
            {
                _tokens = written == DateTime.MinValue ? [] : [.. Read(_file).Select(Encoding.UTF8.GetBytes)];
                _readAt = written;
            }
            return _tokens;
        }
    }
}
