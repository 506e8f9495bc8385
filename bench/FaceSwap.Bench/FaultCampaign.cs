using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;
using FaceSwap.Governance.Consent;
using FaceSwap.Node;
using FaceSwap.Node.Tests.Live;
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
    private const double Fps = 10;
    private const int Seeds = 3, Workers = 3, Edges = 2;
    private static readonly string[] Scenarios = ["worker-kill", "coordinator-kill", "worker-pause", "seed-restart", "link-cut"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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
    private sealed record StreamOutcome(string Stream, double? ResumedAfter, int FailFrames, int Frames, double LongestGapMs, int Reconnects, double ReconnectGapMs, int ServedTwice);

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
        var farm = new Farm(nodes, token);
        Console.WriteLine($"faults: {nodes.Count} nodes (logs in {dir}); {Fps} fps per stream; {observe.TotalSeconds:0} s watched per scenario; {Environment.ProcessorCount} cores");
        var clock = Stopwatch.StartNew();
        var outcomes = new List<Outcome>();
        var streams = new List<StreamClient>();
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
            streams.Add(new StreamClient("A", edges, 0, token, jpeg, clock, new { label = "fault campaign A", blend = "Seamless", detectEvery = 3, failMode = "Blur" }));
            streams.Add(new StreamClient("B", edges, 1, token, jpeg, clock, new { label = "fault campaign B", blend = "Feather", detectEvery = 2, failMode = "Hold" }));
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
    private static async Task<Outcome> Strike(string scenario, Farm farm, List<StreamClient> streams, Stopwatch clock, TimeSpan observe)
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
                specific = exited
                    ? string.Create(CultureInfo.InvariantCulture, $"{victim.Name} was {member} when it woke; shut itself down {resumed.Elapsed.TotalSeconds:F1} s after SIGCONT")
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
        var crashes = exits.Count(e => e.Code != 0 || !Downed(e.Log));
        var kept = await Task.WhenAll(streams.Select(s => s.SettingsKept()));
        return new Outcome(scenario, fault, at / 1000, [.. streams.Select(s => s.Outcome(at, end))], specific, farmOk,
            [.. exits.Select(e => $"{e.Node.Name} (code {e.Code}{(Downed(e.Log) ? ", downed" : "")})")], crashes, kept.All(k => k));
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

    private static void Report(List<Outcome> outcomes, List<StreamClient> streams, TimeSpan observe, List<string> only, bool direct)
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
        LatencyChart.Write(chart, a.Points(), 300, string.Join("; ", outcomes.Select(o => Inv($"{o.Scenario} at {o.At:F0} s"))));
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

    /// <summary>The farm's nodes, and what the campaign asks their management APIs.</summary>
    private sealed class Farm(List<FarmNode> nodes, string token)
    {
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3), DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };

        public List<FarmNode> Nodes => nodes;

        /// <summary>A running edge to ask (any node answers the API; an edge always runs but during the link cut).</summary>
        public FarmNode Edge => nodes.Where(n => n.Running).OrderBy(n => n.Name.StartsWith("edge-", StringComparison.Ordinal) ? 0 : 1).First();

        public FarmNode ByAddress(string address) => nodes.Single(n => n.Address == address);

        public async Task<T> Get<T>(FarmNode node, string path) =>
            await _http.GetFromJsonAsync<T>(node.Http + path, Json) ?? throw new InvalidOperationException($"{node.Name} {path}: empty answer");

        public async Task AllUp(TimeSpan timeout)
        {
            try
            {
                await Task.WhenAll(nodes.Where(n => n.Running).Select(n => n.Up)).WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"not up within {timeout.TotalSeconds:0} s: {string.Join(", ", nodes.Where(n => n.Running && !n.Up.IsCompleted).Select(n => n.Name))}");
            }
        }

        /// <summary>
        /// Every node running, Up and reachable in every node's view, the face-analysis placed on every worker, and every
        /// stream swapping again (5 swapped frames in the last second).
        /// </summary>
        public async Task Settled(TimeSpan timeout, List<StreamClient> streams)
        {
            await AllUp(timeout);
            var deadline = Stopwatch.StartNew();
            var why = "";
            while (deadline.Elapsed < timeout)
            {
                why = await Unsettled(streams);
                if (why.Length == 0) return;
                await Task.Delay(500);
            }
            throw new TimeoutException($"the farm did not settle within {timeout.TotalSeconds:0} s: {why}");
        }

        private async Task<string> Unsettled(List<StreamClient> streams)
        {
            try
            {
                foreach (var node in nodes)
                {
                    var view = await Get<ClusterView>(node, "/api/cluster");
                    var up = view.Members.Where(m => m.Status == "up" && m.Reachable).Select(m => m.Address).ToHashSet();
                    if (!nodes.All(n => up.Contains(n.Address))) return $"{node.Name} sees {up.Count} of {nodes.Count} nodes up and reachable ({string.Join(", ", view.Members.Select(m => $"{m.Address} {m.Status}{(m.Reachable ? "" : " unreachable")}"))})";
                    if (view.Members.Length != nodes.Count) return $"{node.Name} sees {view.Members.Length} members";
                }
                var plan = await Get<PlacementPlan>(Edge, "/api/models/placement");
                var workers = nodes.Where(n => n.Name.StartsWith("worker-", StringComparison.Ordinal)).Select(n => n.Address).ToList();
                if (!workers.All(plan.NodesOf("face-analysis").Contains)) return $"face-analysis is on {plan.NodesOf("face-analysis").Count} of {workers.Count} workers";
                foreach (var stream in streams)
                    if (stream.SwappedInLast(1000) < 5) return $"stream {stream.Name} swapped {stream.SwappedInLast(1000)} frames in the last second";
                return "";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return $"a node did not answer: {e.Message}";
            }
        }

        /// <summary>The worker that answered most of <paramref name="stream"/>'s frames over the last 1.5 s.</summary>
        public async Task<FarmNode> Carrier(StreamClient stream)
        {
            var edge = stream.Edge ?? throw new InvalidOperationException($"stream {stream.Name} is on no edge");
            var id = stream.StreamId ?? throw new InvalidOperationException($"stream {stream.Name} has no id");
            var first = await Get<StreamSummary>(edge, $"/api/streams/{id}");
            await Task.Delay(1500);
            var second = await Get<StreamSummary>(edge, $"/api/streams/{id}");
            var name = second.AnsweredBy.MaxBy(a => a.Value - first.AnsweredBy.GetValueOrDefault(a.Key)).Key;
            return nodes.Single(n => n.Name == name);
        }

        /// <summary>What the other running nodes say <paramref name="node"/> is (up, down, removed, unreachable).</summary>
        public async Task<string> MemberStatus(FarmNode node)
        {
            var asked = nodes.First(n => n != node && n.Running && n.Name.StartsWith("seed-", StringComparison.Ordinal));
            var view = await Get<ClusterView>(asked, "/api/cluster");
            return view.Members.FirstOrDefault(m => m.Address == node.Address) is { } m ? $"{m.Status}{(m.Reachable ? "" : " and unreachable")}" : "removed";
        }

        /// <summary>Polls every 200 ms until a coordinator other than on <paramref name="victim"/> answers with the plan, at least as new as <paramref name="before"/>.</summary>
        public async Task<(PlacementPlan Plan, string Holder, TimeSpan After)?> PlanRestored(FarmNode victim, PlacementPlan before, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                try
                {
                    var asked = Edge;
                    var view = await Get<ClusterView>(asked, "/api/cluster");
                    if (view.Oldest is { } oldest && oldest != victim.Address && view.Members.All(m => m.Address != victim.Address))
                    {
                        var plan = await Get<PlacementPlan>(asked, "/api/models/placement");
                        if (plan.Version >= before.Version && plan.NodesOf("face-analysis").Count > 0) return (plan, ByAddress(oldest).Name, clock.Elapsed);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    // The coordinator is moving: its proxy's ask times out until the new one answers.
                }
                await Task.Delay(200);
            }
            return null;
        }

        /// <summary>
        /// Polls every 500 ms until every node (the restarted one too) sees the same members, all of them up; and whether
        /// the restarted node was ever seen in a cluster of its own meanwhile.
        /// </summary>
        public async Task<(TimeSpan? Converged, bool Alone)> OneCluster(FarmNode restarted, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            var alone = false;
            while (clock.Elapsed < timeout)
            {
                try
                {
                    var views = new List<ClusterView>();
                    foreach (var node in nodes) views.Add(await Get<ClusterView>(node, "/api/cluster"));
                    var own = views[nodes.IndexOf(restarted)];
                    if (own.Members.Count(m => m.Status == "up") == 1 && own.Members.Length == 1) alone = true;
                    if (views.All(v => v.Members.Length == nodes.Count && v.Members.All(m => m.Status == "up" && m.Reachable)))
                        return (clock.Elapsed, alone);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    // The restarted node's endpoint is not up yet.
                }
                await Task.Delay(500);
            }
            return (null, alone);
        }
    }

    /// <summary>
    /// One viewer's stream, as the live page runs it: start on an edge with its settings, frames up at a steady rate,
    /// and after a close, start again on the next edge (what a Service in front of the edges gives). Every frame
    /// received is kept as a point of the stream's timeline.
    /// </summary>
    private sealed class StreamClient(string name, List<FarmNode> edges, int first, string token, byte[] jpeg, Stopwatch clock, object settings)
    {
        private readonly record struct Received(double At, bool FailMode, long Seq, int Connection, double LatencyMs);

        private readonly List<Received> _timeline = [];
        private readonly List<double> _closes = [];
        private LiveClient? _client;
        private int _connection;

        public string Name => name;
        public FarmNode? Edge { get; private set; }
        public string? StreamId { get; private set; }

        public async Task Run(CancellationToken cancel)
        {
            var attempt = 0;
            while (!cancel.IsCancellationRequested)
            {
                var edge = edges[(first + attempt) % edges.Count];
                try
                {
                    if (!edge.Running) throw new InvalidOperationException($"{edge.Name} is not running");
                    var connection = Interlocked.Increment(ref _connection);
                    var offset = clock.Elapsed.TotalMilliseconds;
                    await using var client = await LiveClient.Connect(edge.Http, keepFrames: false, onFrame: f =>
                    {
                        lock (_timeline) _timeline.Add(new Received(offset + f.ReceivedAtMs, f.FailMode, f.Seq, connection, f.ReceivedAtMs - f.ClientTime));
                    });
                    var started = await client.Start(token, IdentityIds.Average, Fps, settings);
                    if (started.GetProperty("type").GetString() != "started")
                        throw new InvalidOperationException($"{edge.Name} refused the stream: {started.GetRawText()}");
                    (Edge, StreamId, _client) = (edge, started.GetProperty("stream").GetString(), client);
                    using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1 / Fps));
                    while (!cancel.IsCancellationRequested && !client.Closed.Task.IsCompleted && await tick.WaitForNextTickAsync(cancel))
                        await client.SendFrame(jpeg);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or TimeoutException or HttpRequestException)
                {
                    Console.WriteLine($"  stream {name} on {edge.Name}: {e.Message}");
                }
                if (cancel.IsCancellationRequested) return;
                _client = null;
                lock (_timeline) _closes.Add(clock.Elapsed.TotalMilliseconds);
                attempt++;
                try
                {
                    await Task.Delay(500, cancel);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        public int SwappedInLast(double ms)
        {
            var since = clock.Elapsed.TotalMilliseconds - ms;
            lock (_timeline) return _timeline.Count(r => r.At >= since && !r.FailMode);
        }

        /// <summary>Asks the edge for the stream's settings (an empty change answers them whole) and compares them with what the client set.</summary>
        public async Task<bool> SettingsKept()
        {
            if (_client is not { } client) return false;
            await client.SendText(new { type = "settings", settings = new { } });
            var answer = await client.Next(m => m.GetProperty("type").GetString() == "settings" && m.GetProperty("settings").TryGetProperty("label", out _), TimeSpan.FromSeconds(10));
            var now = answer.GetProperty("settings");
            var wanted = JsonSerializer.SerializeToElement(settings);
            return wanted.EnumerateObject().All(p => now.TryGetProperty(p.Name, out var v) && v.ToString() == p.Value.ToString());
        }

        /// <summary>The stream from the fault at <paramref name="at"/> to <paramref name="end"/> (campaign ms).</summary>
        public StreamOutcome Outcome(double at, double end)
        {
            Received[] all;
            double[] closes;
            lock (_timeline) (all, closes) = ([.. _timeline], [.. _closes]);
            var window = all.Where(r => r.At >= at && r.At <= end).ToArray();
            var reconnects = closes.Where(c => c >= at && c <= end).ToList();
            // Frozen is an open connection that stops giving frames: gaps within one connection. A lost connection (its
            // edge went down) is counted apart, as the time from its last frame to the next connection's first.
            var previous = all.LastOrDefault(r => r.At < at);
            var frames = (previous.At > 0 ? new[] { previous } : []).Concat(window).ToArray();
            var pairs = frames.Zip(frames.Skip(1)).ToList();
            var openGap = pairs.Where(p => p.First.Connection == p.Second.Connection).Select(p => p.Second.At - p.First.At).DefaultIfEmpty(0).Max();
            if (window.Length > 0 && reconnects.Count == 0) openGap = Math.Max(openGap, end - window[^1].At);
            var reconnectGap = pairs.Where(p => p.First.Connection != p.Second.Connection).Select(p => p.Second.At - p.First.At).DefaultIfEmpty(0).Max();
            // The outage starts at the first fail-mode frame, lost connection or stall over a second after the fault; the
            // stream is back at the start of the first two seconds of swapped frames after it (a lone late frame later on
            // is counted among the fail-mode frames, not as the outage going on).
            var outage = window.Where(r => r.FailMode).Select(r => r.At).Concat(reconnects)
                .Concat(pairs.Where(p => p.Second.At - p.First.At > 1000).Select(p => p.First.At)).DefaultIfEmpty(double.NaN).Min();
            double? resumed = double.IsNaN(outage) ? 0 : null;
            if (!double.IsNaN(outage))
            {
                var after = window.Where(r => r.At > outage).ToArray();
                for (var i = 0; i < after.Length && resumed is null; i++)
                {
                    if (after[i].FailMode) continue;
                    var run = after.Skip(i).TakeWhile(r => !r.FailMode && r.Connection == after[i].Connection).ToArray();
                    if (run.Length > 1 && run[^1].At - after[i].At >= 2000 && run.Zip(run.Skip(1)).All(p => p.Second.At - p.First.At < 1000)) resumed = (after[i].At - at) / 1000;
                }
            }
            var twice = window.GroupBy(r => (r.Connection, r.Seq)).Count(g => g.Count() > 1);
            return new StreamOutcome(name, resumed, window.Count(r => r.FailMode), window.Length, openGap, reconnects.Count, reconnectGap, twice);
        }

        /// <summary>The whole timeline as CSV (campaign seconds, fail mode, sequence, connection, latency), for a closer look.</summary>
        public void WriteCsv(string path)
        {
            lock (_timeline)
                File.WriteAllLines(path, ["seconds,fail_mode,seq,connection,latency_ms", .. _timeline.Select(r =>
                    string.Create(CultureInfo.InvariantCulture, $"{r.At / 1000:F3},{(r.FailMode ? 1 : 0)},{r.Seq},{r.Connection},{r.LatencyMs:F1}"))]);
        }

        public IReadOnlyList<LatencyChart.Point> Points()
        {
            lock (_timeline) return [.. _timeline.Select(r => new LatencyChart.Point(r.At / 1000, r.LatencyMs, r.FailMode))];
        }
    }
}
