using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Placement;
using FaceSwap.Edge;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Swap.Evaluation;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The placement coordinator on real nodes: a joining worker gets models and streams, a failed load is routed
/// around, the plan and the operator's overrides survive the coordinator's node, and admission refuses what the farm
/// cannot carry. Enhancers are generated ONNX models of GFPGAN's signature (the real weights cannot be had here).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PlacementTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const string Enhancer = "gfpgan_1.4";
    private readonly TestPaths.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A store holding a generated GFPGAN-shaped enhancer; <paramref name="corrupt"/>: its file no longer matches its manifest's hash.</summary>
    private ModelStore EnhancerStore(string name, bool corrupt = false)
    {
        var store = new ModelStore(Path.Combine(_dir.Path, name));
        var graph = new OnnxGraphBuilder("generated-gfpgan-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, 512, 512);
        var half = graph.AddInitializer("half", [0.5f], 1, 1, 1, 1);
        graph.AddOutputNode("Mul", ["input", half], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        var file = Path.Combine(_dir.Path, $"{name}.onnx");
        File.WriteAllBytes(file, graph.Build("test", "1", "generated").ToByteArray());
        var manifest = PresetChecker.Add(store, PresetChecker.Check(file, ModelPresets.Gfpgan14));
        if (corrupt) File.AppendAllText(store.ModelPath(manifest), "flipped on disk");
        return store;
    }

    /// <summary>Settings for a worker that frees a model soon after the plan moves it (the shipped grace is seconds).</summary>
    private static NodeSettings QuickUnload(NodeSettings settings) => settings with { Agent = settings.Agent with { UnloadGrace = TimeSpan.FromMilliseconds(500) } };

    private static async Task<PlacementPlan> Plan(TestNode node) => await node.Coordinator.Ask<PlacementPlan>(new GetPlan(), TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_joining_worker_gets_the_models_and_new_streams_and_a_worker_whose_load_fails_is_routed_around()
    {
        await using var seed = await fixture.Start([Roles.Seed, Roles.Edge], serializeLocal: false);
        var address = seed.Settings.SelfAddress;
        await using var first = await fixture.Start([Roles.Worker], address, enhancers: EnhancerStore("first"), serializeLocal: false);
        await first.Placed(Enhancer);
        await first.Placed(WorkerModels.FaceAnalysis);

        // The second worker offers the enhancer too, but its file was damaged on disk: its load fails.
        await using var joining = await fixture.Start([Roles.Worker], address, enhancers: EnhancerStore("joining", corrupt: true), serializeLocal: false);
        await joining.Placed(WorkerModels.FaceAnalysis);
        // The shard coordinator runs on the oldest worker and allocates from that node's copy of the plan: wait for it there too.
        await first.Placement.When(p => p.NodesOf(WorkerModels.FaceAnalysis).Contains(joining.Address), TimeSpan.FromSeconds(30));
        var plan = await seed.Placement.When(p => p.Failed.Any(f => f.Node == joining.Address && f.Model == Enhancer), TimeSpan.FromSeconds(30));
        output.WriteLine(FaceSwap.Cluster.Placement.PlacementView.Describe(plan));
        Assert.Equal([first.Address], plan.NodesOf(Enhancer));
        Assert.Contains("sha256", plan.Failed.Single().Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(new[] { first.Address, joining.Address }.Order(StringComparer.Ordinal), plan.NodesOf(WorkerModels.FaceAnalysis));
        Assert.DoesNotContain(Enhancer, joining.Worker!.LoadedModels());

        // The shard coordinator allocates only to regions registered with it: wait until the joined worker's swap region is.
        var registered = Stopwatch.StartNew();
        while (!(await seed.Swap.Ask<Akka.Cluster.Sharding.CurrentRegions>(Akka.Cluster.Sharding.GetCurrentRegions.Instance, TimeSpan.FromSeconds(5)))
                   .Regions.Any(r => r.ToString() == joining.Address))
        {
            Assert.True(registered.Elapsed < TimeSpan.FromSeconds(30), "the joined worker's swap region did not register with the shard coordinator");
            await Task.Delay(100);
        }

        // New streams, some asking for the enhancer: the joined worker takes its share of swaps, every enhancement runs where the enhancer loaded.
        using var still = StillFrames.Astronaut640x480();
        var handles = Enumerable.Range(0, 8).Select(i => EdgeStream.Run(seed.System, ClusterFixture.Paced(still, 12, 4),
            new EdgeStreamOptions
            {
                StreamId = $"placed-{i}", FramesPerSecond = 4, BudgetMs = 5_000, Parallelism = 1,
                Swap = new StreamSettings(ClusterFixture.Identity, Enhancer: i % 2 == 0 ? Enhancer : null),
            },
            seed.Detect, seed.Swap, Sink.ForEach<EmittedFrame>(f => f.Dispose()), marks: null)).ToList();
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TimeSpan.FromMinutes(2));
        var stats = handles.Select(h => h.Ledger.Snapshot()).ToList();
        foreach (var (s, i) in stats.Select((s, i) => (s, i)))
            output.WriteLine($"placed-{i}: answered by {string.Join(", ", s.AnsweredBy)}; {StreamReport.Format(s, TimeSpan.FromSeconds(3), 0)}");
        var answeredBy = stats.SelectMany(s => s.AnsweredBy.Keys).ToHashSet();
        Assert.Contains(joining.Worker!.Name, answeredBy);
        Assert.Contains(first.Worker!.Name, answeredBy);
        Assert.All(stats, s => Assert.Equal(0, s.Dropped.GetValueOrDefault($"{Regions.Enhance}/{DropReasons.Failed}")));
        var enhanced = stats.Where((_, i) => i % 2 == 0).Sum(s => s.Latency.TryGetValue(EdgeStages.WorkerEnhance, out var l) ? l.Count : 0);
        Assert.True(enhanced >= 4 * 6, $"only {enhanced} frames of the four enhancer streams were enhanced");
    }

    [Fact]
    public async Task A_new_coordinator_resumes_the_plan_with_the_operators_overrides_and_loads_nothing_the_plan_did_not_ask_for()
    {
        // The seed is the oldest node, so it holds the coordinator; the workers outlive it.
        var seed = await fixture.Start([Roles.Seed], serializeLocal: false);
        var address = seed.Settings.SelfAddress;
        await using var kept = await fixture.Start([Roles.Worker, Roles.Edge], address, enhancers: EnhancerStore("kept"), serializeLocal: false, configure: QuickUnload);
        await using var drained = await fixture.Start([Roles.Worker], address, enhancers: EnhancerStore("drained"), serializeLocal: false, configure: QuickUnload);
        await ClusterFixture.AllUp(3, seed, kept, drained);
        await drained.Placed(Enhancer);

        var pinned = await seed.Coordinator.Ask<OverrideResult>(new PinModel(Enhancer, [kept.Address]), TimeSpan.FromSeconds(10));
        var drain = await seed.Coordinator.Ask<OverrideResult>(new DrainNode(drained.Address), TimeSpan.FromSeconds(10));
        Assert.True(pinned.Applied && drain.Applied);
        await ClusterFixture.Until(() => drained.Worker!.LoadedModels().Count == 0, TimeSpan.FromSeconds(30),
            () => $"the drained worker still holds [{string.Join(", ", drained.Worker!.LoadedModels())}]");
        await kept.Placed(Enhancer);
        var before = await Plan(seed);
        output.WriteLine($"before: {FaceSwap.Cluster.Placement.PlacementView.Describe(before)}");

        await seed.Stop();
        // The next coordinator (on the oldest worker) answers with the same plan, overrides included.
        PlacementPlan after = null!;
        await ClusterFixture.Until(() =>
        {
            try
            {
                after = kept.Coordinator.Ask<PlacementPlan>(new GetPlan(), TimeSpan.FromSeconds(2)).Result;
                return after.Version >= before.Version;
            }
            catch (AggregateException)
            {
                return false; // the singleton is still moving
            }
        }, TimeSpan.FromSeconds(60), () => "no coordinator answered after the seed left");
        output.WriteLine($"after: {FaceSwap.Cluster.Placement.PlacementView.Describe(after)}");
        Assert.Equal(before.Pins.Select(p => (p.Model, string.Join(",", p.Nodes))), after.Pins.Select(p => (p.Model, string.Join(",", p.Nodes))));
        Assert.Equal(before.Drained, after.Drained);
        Assert.Equal([kept.Address], after.NodesOf(Enhancer));
        Assert.Equal([kept.Address], after.NodesOf(WorkerModels.FaceAnalysis));

        // Several report rounds later, nothing was loaded where the plan did not ask for it.
        var watchUntil = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (DateTime.UtcNow < watchUntil)
        {
            Assert.Empty(drained.Worker!.LoadedModels());
            Assert.Equal([WorkerModels.FaceAnalysis, Enhancer], kept.Worker!.LoadedModels());
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task The_operators_overrides_survive_a_restart_of_the_whole_cluster_from_the_durable_store()
    {
        var absent = "akka.tcp://faceswap@10.1.2.3:4053";
        var port = 0;
        PlacementPlan before;
        await using (var node = await fixture.Start([.. Roles.All], serializeLocal: false))
        {
            port = node.Settings.Port;
            await node.Placed(WorkerModels.FaceAnalysis);
            Assert.True((await node.Coordinator.Ask<OverrideResult>(new DrainNode(absent), TimeSpan.FromSeconds(10))).Applied);
            Assert.True((await node.Coordinator.Ask<OverrideResult>(new PinModel(Enhancer, [absent]), TimeSpan.FromSeconds(10))).Applied);
            before = await Plan(node);
        }
        // The same node again (same port, so the same durable folder), with no other node to hold a replica.
        await using var restarted = await fixture.Start([.. Roles.All], serializeLocal: false, configure: s => s with { Port = port });
        var after = await Plan(restarted);
        output.WriteLine($"before: {FaceSwap.Cluster.Placement.PlacementView.Describe(before)}\nafter:  {FaceSwap.Cluster.Placement.PlacementView.Describe(after)}");
        Assert.Equal([absent], after.Drained);
        Assert.Equal((Enhancer, absent), (after.Pins.Single().Model, after.Pins.Single().Nodes.Single()));
        Assert.True(after.Version >= before.Version, $"resumed v{after.Version}, stopped at v{before.Version}");
        Assert.Contains(absent, after.Models.Single(m => m.Model == Enhancer).Unplaced);
    }

    [Fact]
    public async Task A_stream_asking_before_any_worker_serves_waits_for_the_first_one_instead_of_being_refused()
    {
        await using var edge = await fixture.Start([Roles.Seed, Roles.Edge], serializeLocal: false);
        var admission = FarmAdmission.Admit(edge.Coordinator, "early", 10, edge.Address, AdmissionMode.Refuse, TimeSpan.FromSeconds(60), NullLogger.Instance);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(admission.IsCompleted, "admitted (or refused) with no worker in the cluster");
        await using var worker = await fixture.Start([Roles.Worker], edge.Settings.SelfAddress, serializeLocal: false);
        var admitted = await admission.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(admitted!.Admitted);
        Assert.Equal(worker.Settings.Agent.CapacityFps, admitted.CapacityFps);
    }

    [Fact]
    public async Task With_capacity_for_two_streams_a_third_is_refused_with_its_reason_and_the_two_keep_their_rate()
    {
        const int fps = 8;
        await using var node = await fixture.Start([.. Roles.All], configure: s => s with { Agent = s.Agent with { CapacityFps = 2 * fps } });
        await node.Placed(WorkerModels.FaceAnalysis);
        using var still = StillFrames.Astronaut640x480();
        var edge = node.Address;
        var admitted = new List<Admission?>();
        foreach (var id in new[] { "admitted-0", "admitted-1" })
            admitted.Add(await FarmAdmission.Admit(node.Coordinator, id, fps, edge, AdmissionMode.Refuse, TimeSpan.Zero, NullLogger.Instance));
        Assert.All(admitted, a => Assert.True(a!.Admitted));

        var emitted = new[] { new List<long>(), new List<long>() };
        var handles = Enumerable.Range(0, 2).Select(i => EdgeStream.Run(node.System, ClusterFixture.Paced(still, 8 * fps, fps),
            new EdgeStreamOptions { StreamId = $"admitted-{i}", FramesPerSecond = fps, BudgetMs = 1_000, Swap = new StreamSettings(ClusterFixture.Identity) },
            node.Detect, node.Swap, Sink.ForEach<EmittedFrame>(f =>
            {
                lock (emitted[i]) emitted[i].Add(Stopwatch.GetTimestamp());
                f.Dispose();
            }), marks: null)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(2));

        var refusedAt = Stopwatch.GetTimestamp();
        var refused = await Assert.ThrowsAsync<StreamRefusedException>(() =>
            FarmAdmission.Admit(node.Coordinator, "third", fps, edge, AdmissionMode.Refuse, TimeSpan.Zero, NullLogger.Instance));
        output.WriteLine(refused.Message);
        Assert.Contains($"serves {2 * fps} fps", refused.Message);
        Assert.Contains("2 stream(s)", refused.Message);
        // Queueing: admitted once a running stream gives its share back.
        var queued = FarmAdmission.Admit(node.Coordinator, "queued", fps, edge, AdmissionMode.Queue, TimeSpan.FromSeconds(30), NullLogger.Instance);

        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TimeSpan.FromMinutes(1));
        var stats = handles.Select(h => h.Ledger.Snapshot()).ToList();
        foreach (var s in stats) output.WriteLine(StreamReport.Format(s, TimeSpan.FromSeconds(8), 0));
        // From the refusal on, both streams kept their rate (the first seconds warm the worker up): the refused stream took nothing from them.
        var window = TimeSpan.FromSeconds(5);
        foreach (var times in emitted)
        {
            var inWindow = times.Count(t => t >= refusedAt && Stopwatch.GetElapsedTime(refusedAt, t) <= window);
            Assert.True(inWindow >= 0.85 * fps * window.TotalSeconds, $"{inWindow} frames out in the {window.TotalSeconds} s after the refusal, at {fps} fps");
        }
        Assert.False(queued.IsCompleted, "the queued stream was admitted while both streams held their share");
        FarmAdmission.Release(node.Coordinator, "admitted-0");
        Assert.True((await queued.WaitAsync(TimeSpan.FromSeconds(10)))!.Admitted);
    }
}
