using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;
using FaceSwap.Node;
using FaceSwap.Vision;

namespace FaceSwap.Bench;

/// <summary>
/// <c>faults [--observe S] [--only NAME,...] [--lenient] [--direct]</c>: the fault campaign. A farm of real <c>faceswap-node</c> processes on
/// loopback, shaped as the Kubernetes manifests shape it (three seeds, three gpu-workers, two edges, each behind a
/// <see cref="FaceSwap.Testing.FaultProxy"/>), carries two live WebSocket streams at 10 fps while one fault at a time
/// strikes: SIGKILL of the worker carrying a stream, SIGKILL of the node holding the placement coordinator, SIGSTOP of
/// a worker for 10 s then SIGCONT, the first seed killed and started again at once, and the link between an edge and
/// its stream's worker cut for 15 s. Each scenario is watched from the clients' side (what a viewer gets) and the
/// operator's (the management API), then every node that ended is started again, as Kubernetes would, and the farm
/// settles before the next. The clients reconnect as the live page does, to the other edge when theirs is gone.
/// </summary>
public static class FaultCampaign
{
    internal const double Fps = 10;
    private const int Seeds = 3, Workers = 3, Edges = 2;
    private static readonly string[] Scenarios = ["worker-kill", "coordinator-kill", "worker-pause", "seed-restart", "link-cut"];
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>What one scenario showed.</summary>
    /// <param name="FarmOk">the scenario's own check: the plan restored within 20 s, one cluster, a paused node gone and back</param>
    private sealed record Outcome(string Scenario, string Fault, double At, StreamOutcome[] Streams, string Specific, bool FarmOk, string[] Exits, int Crashes, bool SettingsKept)
    {
        /// <summary>No crash, no frozen stream, every stream swapped again within 15 s, nothing served twice, settings kept, the farm's own check.</summary>
        public bool Passed => FarmOk && Crashes == 0 && SettingsKept && Streams.All(s => s.ResumedAfter is <= 15 && s.LongestGapMs <= 1000 && s.ServedTwice == 0);
    }

    /// <summary>One stream's view of a scenario, from the fault on.</summary>
    /// <param name="ResumedAfter">seconds from the fault until swapped frames came again after its fail-mode ones; 0: never interrupted; null: not resumed in the window</param>
    /// <param name="LongestGapMs">the longest time without a frame on an open connection (a frozen stream)</param>
    /// <param name="ReconnectGapMs">the longest time from a lost connection's last frame to the next connection's first</param>
    internal sealed record StreamOutcome(string Stream, double? ResumedAfter, int FailFrames, int Frames, double LongestGapMs, int Reconnects, double ReconnectGapMs, int ServedTwice);

    public static int Run(string[] args)
    {
        var observe = 30;
        var only = Scenarios.ToList();
        var (lenient, direct) = (false, false);
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] is "--lenient" or "--direct")
            {
                if (args[i] == "--lenient") lenient = true;
                else direct = true;
                i--;
            }
            else if (args[i] == "--observe" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 15 and <= 300) observe = s;
            else if (args[i] == "--only" && value.Split(',') is var names && names.All(Scenarios.Contains)) only = [.. names];
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the fault campaign takes --observe S (15 to 300 seconds per scenario) " +
                $"--only NAME,... (of {string.Join(", ", Scenarios)}) --lenient (exit 0 when a scenario fails: the quick run checks that the campaign runs, not this machine's timing) " +
                "and --direct (no proxy in the nodes' path: link-cut cannot run)");
        if (direct && only.Contains("link-cut")) throw new ArgumentException("--direct leaves the proxies out: the link-cut scenario needs them (leave it out with --only)");
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the fault campaign signals processes and reads /proc: Linux only");
        var passed = Measure(TimeSpan.FromSeconds(observe), only, direct).GetAwaiter().GetResult();
        return passed || lenient ? 0 : 1;
    }

    /// <summary>Runs the scenarios; whether every one passed.</summary>
    private static async Task<bool> Measure(TimeSpan observe, List<string> only, bool direct)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"fsc-faults-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(dir);
        var token = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var environment = new Dictionary<string, string>
        {
            ["FSC_MANAGEMENT_TOKEN"] = token,
            ["FSC_LIVE_TOKEN"] = token,
            ["FSC_PLACEMENT_DIR"] = Path.Combine(dir, "placement"),
        };
        var nodes = new List<FarmNode>();
        string? PeerOf(int clientPort, int proxyPort)
        {
            (string, int)[] running;
            lock (nodes) running = [.. nodes.Where(n => n.Pid > 0).Select(n => (n.Name, n.Pid))];
            return FaceSwap.Testing.LoopbackPeers.Find(clientPort, proxyPort, running);
        }
        IReadOnlyList<string> SeedAddresses() => [.. nodes.Take(Seeds).Select(n => n.Address)];
        FarmNode Node(string name, string roles)
        {
            var node = new FarmNode(name, roles, dir, SeedAddresses, environment, PeerOf, direct);
            lock (nodes) nodes.Add(node);
            return node;
        }
        for (var i = 0; i < Seeds; i++) Node($"seed-{i}", FaceSwap.Contracts.Roles.Seed);
        for (var i = 1; i <= Workers; i++) Node($"worker-{i}", FaceSwap.Contracts.Roles.Worker);
        for (var i = 1; i <= Edges; i++) Node($"edge-{i}", FaceSwap.Contracts.Roles.Edge);
        var farm = new FaultFarm(nodes, token);
        Console.WriteLine($"faults: {nodes.Count} nodes (logs in {dir}); {Fps} fps per stream; {observe.TotalSeconds:0} s watched per scenario; {Environment.ProcessorCount} cores");
        var clock = Stopwatch.StartNew();
        var outcomes = new List<Outcome>();
        var streams = new List<FaultStreamClient>();
        using var stop = new CancellationTokenSource();
        try
        {
            // Seeds first (the first forms the cluster), then the rest together.
            foreach (var seed in nodes.Take(Seeds)) seed.Start();
            await farm.AllUp(TimeSpan.FromMinutes(2));
            foreach (var node in nodes.Skip(Seeds)) node.Start();
            await farm.Settled(TimeSpan.FromMinutes(3), streams);
            Console.WriteLine($"faults: farm up in {clock.Elapsed.TotalSeconds:F0} s");

            var jpeg = StillJpeg();
            var edges = nodes.Where(n => n.Name.StartsWith("edge-", StringComparison.Ordinal)).ToList();
            streams.Add(new FaultStreamClient("A", edges, 0, token, jpeg, clock, new { label = "fault campaign A", blend = "Seamless", detectEvery = 3, failMode = "Blur" }));
            streams.Add(new FaultStreamClient("B", edges, 1, token, jpeg, clock, new { label = "fault campaign B", blend = "Feather", detectEvery = 2, failMode = "Hold" }));
            var running = streams.Select(s => s.Run(stop.Token)).ToList();
            await farm.Settled(TimeSpan.FromMinutes(2), streams);

            foreach (var scenario in only)
            {
                Console.WriteLine($"faults: {scenario} at {clock.Elapsed.TotalSeconds:F0} s");
                var outcome = await Strike(scenario, farm, streams, clock, observe);
                outcomes.Add(outcome);
                Console.WriteLine($"faults: {scenario}: {outcome.Specific}; " + string.Join("; ", outcome.Streams.Select(s =>
                    string.Create(CultureInfo.InvariantCulture, $"{s.Stream}: resumed {(s.ResumedAfter is { } r ? $"{r:F1} s" : "never")}, {s.FailFrames} fail-mode of {s.Frames}, gap {s.LongestGapMs:F0} ms, {s.Reconnects} reconnects ({s.ReconnectGapMs:F0} ms), {s.ServedTwice} twice"))) +
                    $"; exits: {(outcome.Exits.Length == 0 ? "none" : string.Join(", ", outcome.Exits))}; crashes {outcome.Crashes}; settings kept {outcome.SettingsKept}");
                // Kubernetes starts every pod that ended again; the farm settles before the next fault.
                if (scenario == only[^1]) break;
                foreach (var node in nodes.Where(n => !n.Running)) node.Start();
                await farm.Settled(TimeSpan.FromMinutes(3), streams);
            }
            await stop.CancelAsync();
            await Task.WhenAll(running);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var node in nodes) await node.DisposeAsync();
        }
        Report(outcomes, streams, observe, only, direct);
        var failed = outcomes.Where(o => !o.Passed).ToList();
        foreach (var stream in streams) stream.WriteCsv(Path.Combine(dir, $"stream-{stream.Name}.csv"));
        foreach (var o in failed) Console.Error.WriteLine($"faults: {o.Scenario} did not pass (see the table)");
        return failed.Count == 0;
    }

    /// <summary>One fault, watched for <paramref name="observe"/>; what the streams and the farm showed.</summary>
    private static async Task<Outcome> Strike(string scenario, FaultFarm farm, List<FaultStreamClient> streams, Stopwatch clock, TimeSpan observe)
    {
        var exitsBefore = farm.Nodes.ToDictionary(n => n, n => n.Exits.Count);
        double at;
        string fault, specific;
        var farmOk = true;
        switch (scenario)
        {
            case "worker-kill":
            {
                var victim = await farm.Carrier(streams[0]);
                fault = $"SIGKILL {victim.Name} (carrying stream A)";
                at = clock.Elapsed.TotalMilliseconds;
                await victim.Kill();
                await Task.Delay(observe);
                specific = $"{victim.Name} stays dead for the window";
                break;
            }
            case "coordinator-kill":
            {
                var view = await farm.Get<ClusterView>(farm.Edge, "/api/cluster");
                var victim = farm.ByAddress(view.Oldest ?? throw new InvalidOperationException("no oldest member: no coordinator"));
                var before = await farm.Get<PlacementPlan>(farm.Edge, "/api/models/placement");
                fault = $"SIGKILL {victim.Name} (holding the placement coordinator, plan v{before.Version})";
                at = clock.Elapsed.TotalMilliseconds;
                await victim.Kill();
                var restored = await farm.PlanRestored(victim, before, TimeSpan.FromSeconds(60));
                var left = observe - TimeSpan.FromMilliseconds(clock.Elapsed.TotalMilliseconds - at);
                if (left > TimeSpan.Zero) await Task.Delay(left);
                farmOk = restored is { After.TotalSeconds: <= 20 };
                specific = restored is { } r
                    ? string.Create(CultureInfo.InvariantCulture, $"plan v{r.Plan.Version} answered by the new coordinator on {r.Holder} {r.After.TotalSeconds:F1} s after the kill, its face-analysis on {r.Plan.NodesOf("face-analysis").Count} workers")
                    : "plan not answered within 60 s";
                break;
            }
            case "worker-pause":
            {
                var victim = await farm.Carrier(streams[1]);
                fault = $"SIGSTOP {victim.Name} (carrying stream B) for 10 s, then SIGCONT";
                at = clock.Elapsed.TotalMilliseconds;
                await victim.Pause();
                await Task.Delay(TimeSpan.FromSeconds(10));
                var member = await farm.MemberStatus(victim);
                await victim.Resume();
                var resumed = Stopwatch.StartNew();
                var exit = victim.Exited();
                var exited = await Task.WhenAny(exit, Task.Delay(TimeSpan.FromSeconds(60))) == exit;
                farmOk = exited;
                var how = exited && victim.ExitCode == StallFence.ExitCode ? "fenced itself (a freeze past its downing)" : "shut itself down";
                specific = exited
                    ? string.Create(CultureInfo.InvariantCulture, $"{victim.Name} was {member} when it woke; {how} {resumed.Elapsed.TotalSeconds:F1} s after SIGCONT")
                    : $"{victim.Name} was {member} when it woke, and still runs 60 s after SIGCONT";
                var left = observe - TimeSpan.FromMilliseconds(clock.Elapsed.TotalMilliseconds - at);
                if (left > TimeSpan.Zero) await Task.Delay(left);
                if (exited)
                {
                    // Started again as Kubernetes would: it must join as a new member (a new incarnation at the same address).
                    victim.Start();
                    var joined = Stopwatch.StartNew();
                    await farm.Settled(TimeSpan.FromMinutes(2), streams);
                    specific += string.Create(CultureInfo.InvariantCulture, $"; started again, a member and the farm settled {joined.Elapsed.TotalSeconds:F1} s later");
                }
                break;
            }
            case "seed-restart":
            {
                var victim = farm.Nodes[0];
                fault = $"SIGKILL {victim.Name} (the first seed) and start it again at once";
                at = clock.Elapsed.TotalMilliseconds;
                await victim.Kill();
                victim.Start();
                var (converged, alone) = await farm.OneCluster(victim, TimeSpan.FromSeconds(90));
                var left = observe - TimeSpan.FromMilliseconds(clock.Elapsed.TotalMilliseconds - at);
                if (left > TimeSpan.Zero) await Task.Delay(left);
                farmOk = converged is not null && !alone;
                specific = (converged is { } c
                    ? string.Create(CultureInfo.InvariantCulture, $"all {farm.Nodes.Count} nodes see one cluster of {farm.Nodes.Count} {c.TotalSeconds:F1} s after the kill")
                    : "the nodes did not agree on one cluster within 90 s") + (alone ? "; the restarted seed formed a cluster of its own" : "; no second cluster formed");
                break;
            }
            case "link-cut":
            {
                var worker = await farm.Carrier(streams[0]);
                var edge = streams[0].Edge ?? throw new InvalidOperationException("stream A has no edge");
                fault = $"cut {edge.Name} ↔ {worker.Name} (stream A's path) for 15 s";
                at = clock.Elapsed.TotalMilliseconds;
                edge.Proxy.Cut(worker.Name);
                worker.Proxy.Cut(edge.Name);
                await Task.Delay(TimeSpan.FromSeconds(15));
                var (edgeStatus, workerStatus) = (await farm.MemberStatus(edge), await farm.MemberStatus(worker));
                edge.Proxy.Heal(worker.Name);
                worker.Proxy.Heal(edge.Name);
                var left = observe - TimeSpan.FromMilliseconds(clock.Elapsed.TotalMilliseconds - at);
                if (left > TimeSpan.Zero) await Task.Delay(left);
                specific = $"after 15 s, as the other nodes saw them: {edge.Name} {edgeStatus}, {worker.Name} {workerStatus}; " +
                    string.Join(", ", new[] { edge, worker }.Select(n => $"{n.Name} {(n.Running ? "still runs" : "shut itself down")}"));
                break;
            }
            default:
                throw new ArgumentException($"unknown scenario {scenario}");
        }
        var end = at + observe.TotalMilliseconds;
        var exits = farm.Nodes.SelectMany(n => n.Exits.Skip(exitsBefore[n]).Select(e => (Node: n, e.Code, e.Log))).ToList();
        // By design: a downed node shuts itself down (code 0); one frozen past its downing fences itself (StallFence).
        var crashes = exits.Count(e => !(e.Code == 0 && Downed(e.Log)) && e.Code != StallFence.ExitCode);
        var kept = await Task.WhenAll(streams.Select(s => s.SettingsKept()));
        return new Outcome(scenario, fault, at / 1000, [.. streams.Select(s => s.Outcome(at, end))], specific, farmOk,
            [.. exits.Select(e => $"{e.Node.Name} (code {e.Code}{(e.Code == StallFence.ExitCode ? ", fenced" : Downed(e.Log) ? ", downed" : "")})")], crashes, kept.All(k => k));
    }

    /// <summary>Whether a node's log shows it was downed (it then shuts itself down, by design), rather than crashing.</summary>
    private static bool Downed(string log) =>
        File.ReadLines(log).Any(l => l.Contains("Shutting down myself", StringComparison.Ordinal) || l.Contains("Marked as [Down]", StringComparison.Ordinal)
            || l.Contains("quarantined", StringComparison.OrdinalIgnoreCase));

    private static byte[] StillJpeg()
    {
        using var frame = DemoVideo.Frames(1, 30).Single();
        return ImageCodec.EncodeJpeg(frame, 85);
    }

    private static void Report(List<Outcome> outcomes, List<FaultStreamClient> streams, TimeSpan observe, List<string> only, bool direct)
    {
        var rows = outcomes.SelectMany(o => o.Streams.Select((s, i) => (IReadOnlyList<string>)[
            i == 0 ? $"**{o.Scenario}**: {o.Fault}" : "",
            s.Stream,
            s.ResumedAfter is { } r ? (r == 0 ? "never interrupted" : Inv($"{r:F1} s")) : "**not resumed**",
            Inv($"{s.FailFrames} of {s.Frames}"),
            Inv($"{s.LongestGapMs:F0} ms"),
            s.Reconnects == 0 ? "0" : Inv($"{s.Reconnects} ({s.ReconnectGapMs:F0} ms without frames)"),
            Inv($"{s.ServedTwice}"),
            i == 0 ? (o.SettingsKept ? "yes" : "**no**") : "",
            i == 0 ? Inv($"{o.Crashes}") : "",
            i == 0 ? $"{o.Specific}{(o.Exits.Length > 0 ? $"; exits: {string.Join(", ", o.Exits)}" : "")}" : "",
            i == 0 ? (o.Passed ? "pass" : "**fail**") : "",
        ])).ToList();
        var table = BenchReport.Table(["scenario", "stream", "swapped again after", "fail-mode frames", "longest output gap (open connection)", "reconnects", "served twice", "settings kept", "crashes", "what the farm did", ""], rows);
        var chart = BenchReport.PlotPath("fault-campaign.png");
        var a = streams[0];
        LatencyChart.Write(chart, a.Points(), a.BudgetMs, "stream A: " + string.Join(", ", outcomes.Select(o => Inv($"{o.Scenario} {o.At:F0} s"))));
        if (only.Count == Scenarios.Length)
        {
            var deaths = outcomes.Where(o => o.Scenario is "worker-kill" or "worker-pause").SelectMany(o => o.Streams).ToList();
            var worst = deaths.Max(s => s.ResumedAfter ?? double.PositiveInfinity);
            var coordinator = outcomes.Single(o => o.Scenario == "coordinator-kill");
            var all = outcomes.SelectMany(o => o.Streams).ToList();
            BenchReport.Targets("faults",
                ("14", "a worker's death (SIGKILL, or SIGSTOP for 10 s): swapped frames resume within 15 s", double.IsInfinity(worst) ? "a stream did not resume" : Inv($"{worst:F1} s at the latest"), worst <= 15),
                ("14", "the coordinator's death: the plan restored within 20 s", coordinator.Specific.Split(',')[0], coordinator.FarmOk),
                ("14", "every fault: no crash, no frozen stream (no gap over 1 s on an open connection), nothing served twice",
                    Inv($"{outcomes.Sum(o => o.Crashes)} crashes, longest gap {all.Max(s => s.LongestGapMs):F0} ms, {all.Sum(s => s.ServedTwice)} served twice"),
                    outcomes.All(o => o.Crashes == 0) && all.All(s => s.LongestGapMs <= 1000 && s.ServedTwice == 0)));
        }
        var args = new List<string> { "--observe", Inv($"{observe.TotalSeconds:0}") };
        if (only.Count < Scenarios.Length) args.AddRange(["--only", string.Join(',', only)]);
        if (direct) args.Add("--direct");
        BenchReport.Fragment("faults", BenchReport.Command("faults", [.. args]),
            $"3 seeds, 3 gpu-workers and 2 edges as `faceswap-node` processes, {(direct ? "reaching each other directly" : "each behind a TCP proxy the campaign controls")}; 2 live WebSocket " +
            $"streams at {Fps:0} fps (A: blur fail mode, B: hold), each watched {observe.TotalSeconds:0} s from the fault. " +
            $"\"Swapped again after\": from the fault to the first swapped frame after its fail-mode frames. \"Served twice\": an output sequence number seen twice.\n\n" +
            table + $"\n\nStream A across the campaign (camera-to-client latency; fail-mode frames marked): `docs/{Path.GetFileName(chart)}`.\n");
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
