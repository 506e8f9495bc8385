using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using FaceSwap.Testing;

namespace FaceSwap.Bench;

/// <summary>
/// One node of the fault campaign's farm: <c>faceswap-node run</c> as its own OS process, on fixed ports so that a
/// restart comes back at the same address (as a Kubernetes pod does), behind a <see cref="FaultProxy"/> whose port it
/// advertises. Its output goes to a log file per incarnation; the campaign signals it (SIGKILL, SIGSTOP, SIGCONT,
/// SIGTERM) and starts it again.
/// </summary>
public sealed partial class FarmNode : IAsyncDisposable
{
    private const int SigKill = 9, SigTerm = 15, SigCont = 18, SigStop = 19;

    private readonly string _roles;
    private readonly string _dir;
    private readonly Func<IReadOnlyList<string>> _seeds;
    private readonly bool _direct;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;
    private TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StreamWriter? _log;

    /// <param name="seeds">the seeds' addresses, read at each start</param>
    /// <param name="direct">advertise the bound port: the proxy carries nothing (to tell its effect from the cluster's)</param>
    public FarmNode(string name, string roles, string dir, Func<IReadOnlyList<string>> seeds, IReadOnlyDictionary<string, string> environment, Func<int, int, string?> peerOf,
        bool direct = false)
    {
        _direct = direct;
        Name = name;
        _roles = roles;
        _dir = dir;
        _seeds = seeds;
        _environment = environment;
        RemotingPort = TestPorts.Free();
        ManagementPort = TestPorts.Free();
        Proxy = new FaultProxy(RemotingPort, peerOf);
    }

    public string Name { get; }
    public int RemotingPort { get; }
    public int ManagementPort { get; }
    public FaultProxy Proxy { get; }

    /// <summary>The address every other node knows it by: the proxy's port.</summary>
    public string Address => $"akka.tcp://faceswap@127.0.0.1:{(_direct ? RemotingPort : Proxy.Port)}";

    public string Http => $"http://127.0.0.1:{ManagementPort}";

    /// <summary>Its process id while running; 0 otherwise.</summary>
    public int Pid => _process is { HasExited: false } p ? p.Id : 0;

    public bool Running => _process is { HasExited: false };

    /// <summary>How many times it was started.</summary>
    public int Incarnations { get; private set; }

    /// <summary>Exits the campaign did not cause (no signal sent to this incarnation): each one a crash, or a node that shut itself down.</summary>
    public List<(TimeSpan At, int Code, string Log)> Exits { get; } = [];

    private bool _signalled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Completes when this incarnation logs that it is up in the cluster.</summary>
    public Task Up => _up.Task;

    public void Start()
    {
        if (Running) throw new InvalidOperationException($"{Name} is running already");
        Incarnations++;
        _signalled = false;
        _up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dll = Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = Environment.CurrentDirectory,
        };
        foreach (var argument in new[] { dll, "run", "--roles", _roles, "--port", Inv(RemotingPort), "--management-port", Inv(ManagementPort), "--seeds", string.Join(',', _seeds()) })
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in _environment) start.Environment[name] = value;
        start.Environment["FSC_NODE_NAME"] = Name;
        if (!_direct) start.Environment["FSC_PUBLIC_PORT"] = Inv(Proxy.Port);
        start.Environment["FSC_AUDIT_DB"] = $"Data Source={Path.Combine(_dir, $"audit-{Name}.db")}";
        var logPath = Path.Combine(_dir, $"{Name}.{Incarnations}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        _log = log;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var up = _up;
        void Line(string? line)
        {
            if (line is null) return;
            lock (log) log.WriteLine(line);
            if (line.Contains("up with roles", StringComparison.Ordinal)) up.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Exited += (_, _) =>
        {
            up.TrySetException(new InvalidOperationException($"{Name} exited with code {process.ExitCode} before it was up (log: {logPath})"));
            if (!_signalled) lock (Exits) Exits.Add((_clock.Elapsed, process.ExitCode, logPath));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>SIGKILL: no leave, no hand-over; its connections die with it.</summary>
    public Task Kill() => Signal(SigKill, wait: true);

    /// <summary>SIGTERM: a graceful leave (CoordinatedShutdown), as Kubernetes stops a pod.</summary>
    public Task Terminate() => Signal(SigTerm, wait: true);

    /// <summary>SIGSTOP: frozen (a long GC pause, a VM stall); it neither answers nor knows time passed.</summary>
    public Task Pause() => Signal(SigStop, wait: false);

    /// <summary>SIGCONT after <see cref="Pause"/>. Not a signal that ends it: an exit after this is its own.</summary>
    public async Task Resume()
    {
        await Signal(SigCont, wait: false);
        _signalled = false;
    }

    private async Task Signal(int signal, bool wait)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started");
        if (process.HasExited) throw new InvalidOperationException($"{Name} exited before it was signalled");
        _signalled = true;
        if (Kill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        if (wait) await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Completes when the running incarnation exits (by itself or by a signal).</summary>
    public Task Exited() => _process is { } p ? p.WaitForExitAsync() : Task.CompletedTask;

    /// <summary>The current incarnation's exit code, once it has exited.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            _signalled = true;
            Kill(p.Id, SigCont);
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
        await Proxy.DisposeAsync();
        _log?.Dispose();
    }
}
