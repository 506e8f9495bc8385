using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using FaceSwap.Contracts;
using FaceSwap.Governance.Consent;
using FaceSwap.Node;

namespace FaceSwap.Bench;

/// <summary>
/// <c>startup [--seconds S]</c>: each role as its own <c>faceswap-node run</c> process, started as <c>fsc cluster local</c>
/// starts them (same arguments, same "up with roles" line; the bench does not reference the CLI, so its LocalCluster
/// code is not reachable): a seed, a gpu-worker and an edge, one after another, each timed from its launch to that
/// line. Their RSS 5 s after all are up; then a second edge streams the demo clip (generated, S seconds at 30 fps)
/// through the worker while every process's RSS is read every 0.5 s and the largest kept. SIGTERM stops them,
/// newest first; whatever is still running after 30 s, or when the campaign fails, is killed.
/// </summary>
public static partial class StartupCampaign
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(5);

    public static int Run(string[] args)
    {
        var seconds = 20;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] == "--seconds" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 2 and <= 600) seconds = s;
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the startup campaign takes --seconds S (2 to 600)");
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the startup campaign reads RSS from /proc: Linux only");
        return Measure(seconds).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int seconds)
    {
        var node = Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll");
        if (!File.Exists(node)) throw new FileNotFoundException($"{node}: the node binary is missing beside the bench (FaceSwap.Bench references FaceSwap.Node; build it)");
        var fsc = NodeSettings.Load().Fsc;
        // Checked here, not 30 s later in the streaming edge's log.
        if (!File.Exists(fsc.SigningKey) || !Directory.Exists(Path.Combine(fsc.IdentityStore, IdentityIds.Average)))
            throw new FileNotFoundException($"the streaming edge needs the '{IdentityIds.Average}' identity in {fsc.IdentityStore} and the signing key {fsc.SigningKey}; './fsc demo' makes both (scripts/demo.sh runs it)");
        var dir = Directory.CreateTempSubdirectory("fsc-bench-startup-").FullName;
        var wall = Stopwatch.StartNew();
        var nodes = new List<NodeChild>();
        try
        {
            var clip = Path.Combine(dir, "clip.mp4");
            DemoVideo.Write(clip, seconds, 30);
            Console.WriteLine($"startup: {Environment.ProcessorCount} cores; demo clip {seconds} s 640x480 at 30 fps -> {clip}");

            async Task<NodeChild> Launch(string name, params string[] arguments)
            {
                var child = NodeChild.Start(name, node, arguments);
                nodes.Add(child);
                var (ready, address) = await child.Ready.WaitAsync(TimeSpan.FromMinutes(2));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-16} pid {child.Pid,-7} ready in {ready.TotalSeconds:F2} s: {address}"));
                return child;
            }
            var seed = await Launch("seed", "--roles", Roles.Seed, "--port", "0");
            var address = (await seed.Ready).Address;
            await Launch("gpu-worker", "--roles", Roles.Worker, "--port", "0", "--seeds", address);
            await Launch("edge", "--roles", Roles.Edge, "--port", "0", "--seeds", address);

            await Task.Delay(IdleWait);
            var idle = nodes.ToDictionary(n => n, n => n.Rss() ?? throw new InvalidOperationException($"{n.Name} (pid {n.Pid}) exited while idle; its last output:\n{n.Tail}"));
            Console.WriteLine($"  idle, {IdleWait.TotalSeconds:0} s after all were up: {string.Join(", ", idle.Select(p => $"{p.Key.Name} {Mib(p.Value)}"))}");

            // The load: a second edge that streams the clip and exits when it ends (as fsc cluster local --stream does); sampled from its launch on.
            var streaming = NodeChild.Start("edge --stream", node, ["--roles", Roles.Edge, "--port", "0", "--seeds", address,
                "--stream", clip, "--output", Path.Combine(dir, "out.mp4"), "--fps", "30"]);
            nodes.Add(streaming);
            var peak = new Dictionary<NodeChild, long>();
            var limit = TimeSpan.FromSeconds(seconds + 120);
            var sampling = Stopwatch.StartNew();
            for (var samples = 1; !streaming.HasExited; samples++)
            {
                foreach (var n in nodes)
                    if (n.Rss() is { } rss) peak[n] = Math.Max(peak.GetValueOrDefault(n), rss);
                if (sampling.Elapsed > limit) throw new TimeoutException($"the streaming edge still runs {limit.TotalSeconds:0} s after its launch ({seconds} s clip); its last output:\n{streaming.Tail}");
                if (samples % 10 == 0)
                    Console.WriteLine($"  {sampling.Elapsed.TotalSeconds,5:F1} s under load: {string.Join(", ", peak.Select(p => $"{p.Key.Name} {Mib(p.Value)}"))} (max so far)");
                await Task.Delay(500);
            }
            if (streaming.ExitCode != 0 || !streaming.Ready.IsCompletedSuccessfully)
                throw new InvalidOperationException($"the streaming edge exited with code {streaming.ExitCode}; its last output:\n{streaming.Tail}");
            var figures = streaming.Printed.Where(l => l.StartsWith("stream ", StringComparison.Ordinal) || l.StartsWith("  fps:", StringComparison.Ordinal)).ToList();
            foreach (var line in figures) Console.WriteLine($"  {line.Trim()}");

            var problems = await Stop(nodes);
            var rows = nodes.Select(n => (IReadOnlyList<string>)[
                n == streaming ? "edge, streaming the clip (the load)" : n.Name,
                string.Create(CultureInfo.InvariantCulture, $"{n.Ready.Result.Elapsed.TotalSeconds:F2} s"),
                idle.TryGetValue(n, out var r) ? Mib(r) : "–",
                peak.TryGetValue(n, out var p) ? Mib(p) : "–"]).ToList();
            var table = BenchReport.Table(["role", "start to ready", "RSS idle", "RSS under load (max)"], rows, "lrrr");
            Console.WriteLine();
            Console.Write(table);
            BenchReport.Fragment("startup", BenchReport.Command("startup", "--seconds", seconds.ToString(CultureInfo.InvariantCulture)),
                $"""
                Each role as its own `faceswap-node run --roles ROLE --port 0 [--seeds SEED]` process, as `fsc cluster local` starts
                them, one after another (seed, gpu-worker, edge): start to ready is from the launch to the node's "up with roles"
                line (the runtime's start, the host, for the worker opening its models, and joining the cluster). RSS
                (`VmRSS`) idle is read {IdleWait.TotalSeconds:0} s after all three are up. The load is a second edge,
                `--stream` on the demo clip ({seconds} s, 640×480 at 30 fps, generated) through the one worker, with the shipped
                budget; under load is the largest of the RSS read every 0.5 s from its launch until it exits (the seed and the
                idle edge carry no frames: theirs is the cluster's upkeep). The stream: {string.Join("; ", figures.Select(f => f.Trim()))}.

                {table}
                """);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"startup: done in {wall.Elapsed.TotalSeconds:F0} s"));
            if (problems.Count == 0) return 0;
            foreach (var problem in problems) Console.Error.WriteLine($"startup: {problem}");
            return 1;
        }
        finally
        {
            // On failure nothing was stopped gracefully: every node still running is killed here.
            foreach (var n in nodes) n.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>SIGTERM to every node still running, newest first; what has not exited within 30 s is killed. Returns what went wrong.</summary>
    private static async Task<List<string>> Stop(List<NodeChild> nodes)
    {
        var problems = new List<string>();
        foreach (var n in Enumerable.Reverse(nodes).Where(n => !n.HasExited))
        {
            n.Terminate();
            if (!await n.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                problems.Add($"{n.Name} (pid {n.Pid}) did not exit within 30 s of SIGTERM: killed");
                n.KillIfRunning();
            }
            else if (n.ExitCode != 0) problems.Add($"{n.Name} (pid {n.Pid}) exited with code {n.ExitCode} after SIGTERM; its last output:\n{n.Tail}");
        }
        Console.WriteLine($"  stopped {nodes.Count} processes ({problems.Count} problems)");
        return problems;
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F0} MiB");

    /// <summary>
    /// A <c>faceswap-node</c> process: <c>dotnet faceswap-node.dll run ARGS</c>, its readiness taken from the line it logs
    /// once it is Up (as the CLI's NodeProcess reads it), its last lines kept for error messages.
    /// </summary>
    private sealed partial class NodeChild : IDisposable
    {
        private readonly Process _process;
        private readonly long _launched;
        private readonly TaskCompletionSource<(TimeSpan Elapsed, string Address)> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Queue<string> _tail = new();
        private readonly List<string> _printed = [];

        private NodeChild(string name, Process process, long launched)
        {
            (Name, _process, _launched) = (name, process, launched);
            process.OutputDataReceived += (_, e) => Line(e.Data, stdout: true);
            process.ErrorDataReceived += (_, e) => Line(e.Data, stdout: false);
            process.EnableRaisingEvents = true;
            process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"{Name} (pid {Pid}) exited with code {process.ExitCode} before it was up; its last output:\n{Tail}"));
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Name { get; }
        public int Pid => _process.Id;
        public bool HasExited => _process.HasExited;
        public int ExitCode => _process.ExitCode;

        /// <summary>Time from the launch to the "up with roles" line, and the node's address.</summary>
        public Task<(TimeSpan Elapsed, string Address)> Ready => _ready.Task;

        /// <summary>What it printed on stdout that is not a log line: a stream's figures.</summary>
        public IReadOnlyList<string> Printed
        {
            get { lock (_printed) return [.. _printed]; }
        }

        public string Tail
        {
            get { lock (_tail) return string.Join('\n', _tail); }
        }

        public static NodeChild Start(string name, string node, IReadOnlyList<string> arguments)
        {
            var start = new ProcessStartInfo("dotnet", [node, "run", .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var launched = Stopwatch.GetTimestamp();
            var process = Process.Start(start) ?? throw new InvalidOperationException($"{name}: could not start dotnet {node}");
            return new NodeChild(name, process, launched);
        }

        private void Line(string? line, bool stdout)
        {
            if (line is null) return;
            var at = Stopwatch.GetElapsedTime(_launched);
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > 30) _tail.Dequeue();
            }
            if (UpLine().Match(line) is { Success: true } up) _ready.TrySetResult((at, up.Groups[1].Value));
            else if (stdout && !LogLine().IsMatch(line))
                lock (_printed) _printed.Add(line);
        }

        /// <summary>Resident memory now, from /proc; none once the process has exited (an exited, not yet reaped one has no VmRSS line).</summary>
        public long? Rss()
        {
            string? line;
            try
            {
                line = File.ReadLines($"/proc/{Pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            }
            catch (IOException) when (_process.HasExited)
            {
                return null; // it exited between the loop's check and the read
            }
            return line is null ? null : long.Parse(line["VmRSS:".Length..].Replace("kB", "").Trim(), CultureInfo.InvariantCulture) * 1024;
        }

        /// <summary>Asks the node to leave and exit, as Kubernetes (and fsc cluster local) would.</summary>
        public void Terminate()
        {
            if (!_process.HasExited && Kill(Pid, SigTerm) != 0 && !_process.HasExited)
                throw new InvalidOperationException($"could not send SIGTERM to {Name} (pid {Pid}): errno {Marshal.GetLastPInvokeError()}");
        }

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

        public void KillIfRunning()
        {
            if (_process.HasExited) return;
            Console.Error.WriteLine($"  {Name} (pid {Pid}) still running: killed");
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            KillIfRunning();
            _process.Dispose();
        }

        private const int SigTerm = 15;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int signal);

        [GeneratedRegex(@"node (akka\.tcp://\S+) up with roles")]
        private static partial Regex UpLine();

        /// <summary>Log lines (the console logger's, Akka's, timestamps), as opposed to what the node prints for people (the CLI's NodeProcess tells them apart the same way).</summary>
        [GeneratedRegex(@"^(\s*(info|warn|fail|crit|dbug|trce):|\[(INFO|WARNING|ERROR|DEBUG)\]|\d\d:\d\d:\d\d)")]
        private static partial Regex LogLine();
    }
}
