using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace FaceSwap.Cli.LocalCluster;

/// <summary>A node of the local cluster did not start: which, and where its log is.</summary>
public sealed class LocalClusterException(string message) : Exception(message);

/// <summary>
/// One node of a local cluster, as its own OS process (<c>faceswap-node run</c>): its log goes to a file, its
/// address is read from the line it prints once it is up, and it is stopped with SIGTERM, as Kubernetes would.
/// </summary>
public sealed partial class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly TaskCompletionSource<string> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _report = [];

    private NodeProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        _log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Line(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => Line(e.Data, stdout: false);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _up.TrySetException(new LocalClusterException($"{Name} exited with code {process.ExitCode} before it was up; see {LogPath}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The node's management endpoint (http://host:port), once it is up; null when it has none.</summary>
    public string? Management { get; private set; }

    /// <summary>The node's cluster address, once it is up.</summary>
    public Task<string> Up => _up.Task;

    /// <summary>What the node printed that is not a log line: a stream's figures.</summary>
    public IReadOnlyList<string> Report
    {
        get { lock (_report) return [.. _report]; }
    }

    /// <summary>glibc's cap on malloc arenas, and the node's: see docker/'s images and BENCHMARKS.md's Soak.</summary>
    public const string MallocArenaMax = "MALLOC_ARENA_MAX", DefaultMallocArenaMax = "2";

    /// <param name="node">faceswap-node.dll</param>
    /// <param name="core">the core to pin the process to (taskset), or none</param>
    public static NodeProcess Start(string name, string node, IReadOnlyList<string> arguments, string logPath, int? core)
    {
        var start = StartInfo(name, node, arguments, core);
        var process = Process.Start(start) ?? throw new LocalClusterException($"{name}: could not start {start.FileName}");
        return new NodeProcess(name, process, logPath);
    }

    /// <summary>How <see cref="Start"/> runs a node: its command line and environment.</summary>
    public static ProcessStartInfo StartInfo(string name, string node, IReadOnlyList<string> arguments, int? core)
    {
        var start = core is { } c
            ? new ProcessStartInfo("taskset", ["-c", c.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", node, .. arguments])
            : new ProcessStartInfo("dotnet", [node, .. arguments]);
        // Each node its own name (watermark, audit log, provenance, and the worker a stream's answers come from).
        start.Environment["FSC_NODE_NAME"] = name;
        // Two glibc malloc arenas, as the images and ./faceswap-node launch a node (one per thread keeps what each freed; RSS climbs).
        if (!start.Environment.ContainsKey(MallocArenaMax)) start.Environment[MallocArenaMax] = DefaultMallocArenaMax;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return start;
    }

    private void Line(string? line, bool stdout)
    {
        if (line is null) return;
        lock (_log) _log.WriteLine(line);
        if (UpLine().Match(line) is { Success: true } up)
        {
            Management = up.Groups[2].Success && up.Groups[2].Value != "off" ? up.Groups[2].Value : null;
            _up.TrySetResult(up.Groups[1].Value);
        }
        else if (stdout && !LogLine().IsMatch(line))
            lock (_report) _report.Add(line);
    }

    /// <summary>Asks the node to leave and exit (SIGTERM); false if it had exited already.</summary>
    public bool Terminate() => !_process.HasExited && Kill(_process.Id, SigTerm) == 0;

    public async Task<bool> WaitForExit(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
        lock (_log) _log.Dispose();
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"node (akka(?:\.ssl)?\.tcp://\S+) up with roles [^;\s]+(?:; management (\S+))?")]
    private static partial Regex UpLine();

    /// <summary>Log lines (Microsoft's console logger, Akka's own format, timestamps), as opposed to what the node prints for people.</summary>
    [GeneratedRegex(@"^(\s*(info|warn|fail|crit|dbug|trce):|\[(INFO|WARNING|ERROR|DEBUG)\]|\d\d:\d\d:\d\d)")]
    private static partial Regex LogLine();
}
