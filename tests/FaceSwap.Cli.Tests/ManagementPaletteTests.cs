using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using FaceSwap.Cli.LocalCluster;
using FaceSwap.Cli.Remote;
using FaceSwap.Contracts.Management;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision.Video;
using Xunit.Abstractions;

namespace FaceSwap.Cli.Tests;

/// <summary>
/// The operator's palette against a real local cluster (a seed, two workers and an edge, each its own process, a
/// stream running): every command's output parsed, the metrics of each role through promtool, and a drain and a
/// leave that move the stream's stages to the other worker while its output keeps flowing.
/// </summary>
[Collection("console")]
public sealed class ManagementPaletteTests(GovernedInstall install, ITestOutputHelper output) : IClassFixture<GovernedInstall>
{
    private const string Token = "palette-test-token";

    [Fact]
    public async Task Every_command_works_against_a_four_process_cluster_and_drain_and_leave_move_a_live_stream_without_freezing_it()
    {
        var clip = Path.Combine(install.Dir.Path, "palette-clip.mp4");
        using (var still = StillFrames.Astronaut640x480())
        using (var writer = new VideoFileWriter(clip, new MediaInfo(640, 480, 10, "10/1", 0, false, 0), audioFrom: null))
        {
            for (var i = 0; i < 1500; i++) writer.Write(still);
            writer.Complete();
        }
        // A budget a little over the shipped one: other test assemblies share the cores with four node processes. The
        // fail mode emits a frame once the oldest in flight is about to miss it, so it also bounds the output's gaps.
        Environment.SetEnvironmentVariable("FSC_BUDGET_MS", "500");
        Environment.SetEnvironmentVariable("FSC_MANAGEMENT_TOKEN", Token);
        var node = Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll");
        await using var cluster = new LocalClusterRun(node, Path.Combine(install.Dir.Path, "palette-logs"), output.WriteLine);
        try
        {
            await cluster.Start(2, pin: false, (clip, "average", Path.Combine(install.Dir.Path, "palette-out.mp4"), 10), TimeSpan.FromMinutes(2));
            await Run(cluster);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSC_BUDGET_MS", null);
            Environment.SetEnvironmentVariable("FSC_MANAGEMENT_TOKEN", null);
        }
    }

    private async Task Run(LocalClusterRun cluster)
    {
        var byName = cluster.Nodes.ToDictionary(n => n.Name);
        string Endpoint(string name) => new Uri(byName[name].Management!).Authority;
        var seed = Endpoint("seed");
        var addresses = cluster.Nodes.ToDictionary(n => n.Name, n => n.Up.Result);
        // A stream's answers name the worker by its node name: each local node is named after its process.
        var names = addresses.ToDictionary(a => a.Value, a => a.Key);

        // cluster show: four members, all up and reachable, with their roles.
        // Each node printed its own 'up'; the seed sees them all up once gossip has spread it.
        var show = await Until(() => Palette(seed, "cluster", "show") is var text && Regex.Matches(text, @" up ").Count == 4 ? text : null, "the seed to see four members up");
        foreach (var (name, address) in addresses)
            Assert.Matches(new Regex($@"^{Regex.Escape(address)}\s+up\s+\S*{(name.StartsWith("worker") ? "gpu-worker" : name)}\S*\s+yes$", RegexOptions.Multiline), show);
        Assert.Matches($@"leader\s+akka\.tcp://", show);

        // The stream runs: streams list (from the seed, which asks the edge) shows it with swapped frames.
        var stream = await Until(() => Json<StreamsView>(seed, "streams", "list").Streams.SingleOrDefault(s => s.Swapped > 5), "the stream to swap frames");
        var list = Palette(seed, "streams", "list");
        Assert.Matches(new Regex($@"^{stream.StreamId}\s+{Regex.Escape(addresses["edge"])}\s+average\s+[\d.]+", RegexOptions.Multiline), list);
        var stats = Palette(seed, "streams", "stats", stream.StreamId);
        Assert.Matches(new Regex(@"^end-to-end\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", RegexOptions.Multiline), stats);
        Assert.Matches(@"frames\s+\d+ offered: \d+ swapped", stats);

        // Sharding, from a worker (it hosts the regions) and from the edge (its proxies).
        Assert.Equal(["detect", "enhance", "swap"], Lines(Palette(Endpoint("worker-1"), "cluster-sharding", "regions")));
        var regionStats = Palette(Endpoint("edge"), "cluster-sharding", "region-stats", "-r", "swap");
        var regionRows = Regex.Matches(regionStats, @"^(akka\.tcp://\S+)\s+(\d+)\s+(\d+)$", RegexOptions.Multiline);
        Assert.Equal(2, regionRows.Count);
        Assert.Equal(1, regionRows.Sum(m => int.Parse(m.Groups[3].Value)));
        var shardStats = Palette(Endpoint("edge"), "cluster-sharding", "shard-stats", "-r", "swap");
        var shard = Assert.Single(Regex.Matches(shardStats, @"^\s*(\S+)\s+(akka\.tcp://\S+)\s+1$", RegexOptions.Multiline));
        var serving = shard.Groups[2].Value;
        var other = addresses["worker-1"] == serving ? addresses["worker-2"] : addresses["worker-1"];
        output.WriteLine($"stream {stream.StreamId} is swapped on {serving}");

        // A second stream started on the edge from a URL, its controls changed, then stopped; a refused one says why.
        var udp = $"udp://127.0.0.1:{TestPorts.Free()}";
        var started = Palette(Endpoint("edge"), "stream", "start", "--source", udp, "--identity", "average", "--fps", "10", "--id", "udp-1", "--set", "label=PALETTE");
        Assert.Matches(new Regex(@"^started: stream udp-1 from udp://127\.0\.0\.1:\d+ \(session [0-9a-f]{12}\); watch at http://\S+/live/streams/udp-1/mjpeg$", RegexOptions.Multiline), started);
        Assert.Matches(new Regex(@"^failMode\s+Hold$", RegexOptions.Multiline), Palette(Endpoint("edge"), "stream", "set", "udp-1", "failMode=hold", "detectEvery=3"));
        Assert.Contains("udp-1", Palette(seed, "streams", "list"));
        Assert.Equal("stream udp-1 stopped", Palette(Endpoint("edge"), "stream", "stop", "udp-1").Trim());
        var (refused, _, reason) = ModelsCommandTests.Fsc(Prompt.Rewrite([Endpoint("edge"), "stream", "start", "--source", udp, "--identity", "nobody-registered"]));
        Assert.Equal(1, refused);
        Assert.Contains("no consent record", reason);
        (refused, _, reason) = ModelsCommandTests.Fsc(Prompt.Rewrite([Endpoint("edge"), "stream", "set", "no-such-stream", "blend=seamless"]));
        Assert.Equal(1, refused);
        Assert.Contains("no live stream 'no-such-stream'", reason);

        Assert.Contains("/user/management", Palette(seed, "actor", "hierarchy", "-d", "1"));
        Assert.Matches(new Regex(@"^\d\d:\d\d:\d\d\.\d{3}\s+Information\s+\S+", RegexOptions.Multiline), Palette(seed, "log", "peek", "-n", "20"));
        var doctor = Palette(seed, "doctor");
        foreach (var address in addresses.Values) Assert.Contains(address, doctor);
        Assert.Matches(new Regex(@"model facemesh\s+runs on Cpu", RegexOptions.Multiline), doctor);
        var placement = Palette(seed, "models", "placement");
        Assert.Matches(new Regex(@"^face-analysis\s+(\S+ \S+)\s+no", RegexOptions.Multiline), placement);

        // Overrides: unload from one worker and load back (pins), unpin.
        Assert.StartsWith("applied: plan v", Palette(seed, "models", "unload", "face-analysis", other));
        Assert.Matches(new Regex($@"^pinned\s+face-analysis -> {Regex.Escape(serving)}$", RegexOptions.Multiline), Palette(seed, "models", "placement"));
        Assert.StartsWith("applied", Palette(seed, "models", "load", "face-analysis", other));
        Assert.StartsWith("applied", Palette(seed, "models", "pin", "face-analysis", serving, other));
        Assert.StartsWith("applied", Palette(seed, "models", "unpin", "face-analysis"));
        Assert.DoesNotContain("pinned", Palette(seed, "models", "placement"));

        // The metrics of each role pass promtool.
        using (var http = new HttpClient())
            foreach (var name in new[] { "seed", "worker-1", "edge" })
            {
                var metrics = await http.GetStringAsync($"http://{Endpoint(name)}/metrics");
                var (code, report) = Promtool(metrics);
                Assert.True(code == 0, $"{name}: promtool check metrics: {report}");
                Assert.Contains("faceswap_node_info", metrics);
                if (name == "edge") Assert.Contains("faceswap_stage_latency_seconds_bucket{stage=\"end-to-end\"", metrics);
                if (name == "worker-1") Assert.Contains("faceswap_batch_size_bucket", metrics);
            }

        // Drain the worker the stream is on: its stages move to the other one, and the output never stops.
        Assert.StartsWith("applied", Palette(seed, "nodes", "drain", serving));
        await Moved(seed, stream.StreamId, names[other]);
        Assert.StartsWith("applied", Palette(seed, "nodes", "undrain", serving));

        // Leave, from the node itself: the stages move back to the first worker.
        Assert.Contains("is leaving", Palette(seed, "cluster", "leave", other));
        await Moved(seed, stream.StreamId, names[serving]);
        await Until(() => !Palette(seed, "cluster", "show").Contains(other) ? "" : null, $"{other} to be removed");

        // tail: the current members as events, then what happens (the edge downed: a stream with no edge ends).
        var tail = Palette(seed, "cluster", "tail", "--seconds", "2");
        Assert.Matches(new Regex($@"^\d\d:\d\d:\d\d\.\d{{3}}\s+up\s+{Regex.Escape(addresses["edge"])}\s+up", RegexOptions.Multiline), tail);
        Assert.Contains("no member is unreachable", Palette(seed, "cluster", "down-unreachable"));
        Assert.Contains("joining", Palette(Endpoint(names[serving]), "cluster", "join", new Uri(addresses["seed"].Replace("akka.tcp", "http")).Authority));
        Assert.Contains("downed", Palette(seed, "cluster", "down", addresses["edge"]));
        await Until(() => !Palette(seed, "cluster", "show").Contains(addresses["edge"]) ? "" : null, "the downed edge to be removed");

        // A wrong token is refused with the reason; a command that cannot be done says why.
        var (exit, _, err) = ModelsCommandTests.Fsc(Prompt.Rewrite([seed, "cluster", "show", "--token", "wrong"]));
        Assert.Equal(1, exit);
        Assert.Contains("401", err);
        (exit, _, err) = ModelsCommandTests.Fsc(Prompt.Rewrite([seed, "nodes", "drain", "10.9.9.9:1"]));
        Assert.Equal(1, exit);
        Assert.Contains("is not a member", err);
    }

    /// <summary>Waits until the stream's swaps come from <paramref name="worker"/> (a node name), then checks its output never paused.</summary>
    private async Task Moved(string seed, string streamId, string worker)
    {
        var before = Json<StreamSummary>(seed, "streams", "stats", streamId).AnsweredBy.GetValueOrDefault(worker);
        var started = Stopwatch.StartNew();
        var after = await Until(() => Json<StreamSummary>(seed, "streams", "stats", streamId) is var s && s.AnsweredBy.GetValueOrDefault(worker) >= before + 10 ? s : null,
            $"the stream's swaps to come from {worker}");
        output.WriteLine($"moved to {worker} in {started.Elapsed.TotalSeconds:F1} s; longest output gap so far {after.MaxOutputGapMs:F0} ms; {after.FailModeFrames} fail-mode frames");
        // A frozen stream shows no frame for seconds; the fail mode fills the move within the budget (500 ms). The bound
        // leaves room for a loaded CI machine (four node processes beside the other suites on two cores).
        Assert.True(after.MaxOutputGapMs < 2000, $"the output paused {after.MaxOutputGapMs:F0} ms");
    }

    private string Palette(string host, params string[] command)
    {
        var (exit, stdout, stderr) = ModelsCommandTests.Fsc(Prompt.Rewrite([host, .. command]));
        output.WriteLine($"$ fsc {host} {string.Join(" ", command)}\n{stdout}{stderr}");
        Assert.True(exit == 0, $"fsc {string.Join(" ", command)} exited {exit}: {stderr}");
        return stdout;
    }

    private T Json<T>(string host, params string[] command) =>
        JsonSerializer.Deserialize<T>(ModelsCommandTests.Fsc(Prompt.Rewrite([host, .. command, "--json"])).Out, ManagementClient.Json)!;

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task<T> Until<T>(Func<T?> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } found) return found;
            await Task.Delay(500);
        }
        throw new TimeoutException($"waited 90 s for {what}");
    }

    private static (int Code, string Report) Promtool(string metrics)
    {
        using var process = Process.Start(new ProcessStartInfo("promtool", ["check", "metrics"])
            { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("promtool did not start: install the Debian package prometheus");
        process.StandardInput.Write(metrics);
        process.StandardInput.Close();
        var report = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, report);
    }
}
