using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Placement;
using FaceSwap.Edge;
using FaceSwap.Inference.Batching;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using Microsoft.Extensions.Logging.Abstractions;
using FaceSwap.Node;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenCvSharp;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace FaceSwap.Bench;

/// <summary>
/// Seed, gpu-worker and edge as three nodes in this process, on loopback TCP with real remoting and serialization,
/// hosted as faceswap-node hosts them; stopped edge first.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    public const string Hocon = "akka.loglevel = WARNING";
    private readonly IHost[] _hosts;

    private BenchCluster(IHost[] hosts)
    {
        _hosts = hosts;
        var edge = hosts[^1];
        Edge = edge.Services.GetRequiredService<ActorSystem>();
        var registry = edge.Services.GetRequiredService<ActorRegistry>();
        (Detect, Swap) = (registry.Get<DetectRegion>(), registry.Get<SwapRegion>());
    }

    public ActorSystem Edge { get; }
    public IActorRef Detect { get; }
    public IActorRef Swap { get; }

    /// <summary>The default pack, built if needed, and the synthetic average face of the sample photos: what the cluster campaigns swap in.</summary>
    public static (ModelStore Store, SourceFace Average) PackAndAverageFace()
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        using var photos = FaceAnalyzer.Open(store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance);
        return (store, AverageFaceBuilder.Build(photos, Enumerable.Range(1, 6).Select(n => Path.Combine(RepositoryPaths.SamplePhotos, $"sample{n}.jpg"))).Face);
    }

    /// <summary>A worker's models as faceswap-node opens them, with <paramref name="sources"/> as the streams' faces.</summary>
    /// <param name="batching">the batchers' settings; none: <see cref="BatchingOptions"/>' defaults (the shipped config's values)</param>
    public static WorkerModels Worker(ModelStore store, ISourceFaces sources, BatchingOptions? batching = null) =>
        new(FaceAnalyzer.Open(store, new InferenceOptions(), new DetectorOptions(), NullLogger.Instance), sources, "bench-worker", batching: batching);

    /// <summary>A worker's models with the average face as every stream's source.</summary>
    public static WorkerModels Worker(ModelStore store, SourceFace average) => Worker(store, new ClusterCostCampaign.FixedSource(average));

    /// <summary>One node as faceswap-node hosts it, on a free loopback port, started and Up; with no seed it starts a cluster on itself.</summary>
    /// <param name="stages">a worker's stage set other than <paramref name="worker"/>'s (a simulated device's)</param>
    public static async Task<(IHost Host, ActorSystem System)> StartNode(NodeSettings settings, string role, string? seed, WorkerModels? worker = null, WorkerStages? stages = null)
    {
        var host = NodeHost.Build(settings with { Roles = [role], Port = 0, Seeds = seed is null ? [] : [seed], Management = settings.Management with { Port = 0 } },
            worker, Hocon, LogLevel.Warning, stages);
        await host.StartAsync();
        return (host, await StreamRunner.WhenUp(host, TimeSpan.FromMinutes(1)));
    }

    public static async Task<BenchCluster> Start(WorkerModels worker)
    {
        var settings = NodeSettings.Load();
        var (seedHost, seedSystem) = await StartNode(settings, Roles.Seed, null);
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var (workerHost, _) = await StartNode(settings, Roles.Worker, seed, worker);
        var (edgeHost, _) = await StartNode(settings, Roles.Edge, seed);
        return new BenchCluster([seedHost, workerHost, edgeHost]);
    }

    /// <summary>
    /// One stream as a closed loop: <see cref="EdgeStreamOptions.Parallelism"/> frames enter at first, then one as each
    /// leaves (emitted or dropped: a frame dropped late must free its slot too, or the loop runs on with fewer in
    /// flight), so none waits in the keep-latest buffer and each one's latency is its own cost.
    /// <paramref name="emitted"/> gets each frame out (and disposes of nothing: the loop does).
    /// </summary>
    public static EdgeStreamHandle ClosedLoop(ActorSystem edge, EdgeStreamOptions options, IActorRef detect, IActorRef swap, IReadOnlyList<Mat> frames, Action<EmittedFrame> emitted)
    {
        var (queue, source) = Source.Queue<Mat>(options.Parallelism + 1, OverflowStrategy.Backpressure).PreMaterialize(edge.Materializer());
        var feeding = new Lock();
        var next = 0;
        EdgeStreamHandle? handle = null;
        void Feed()
        {
            lock (feeding)
                while (next <= frames.Count && handle is not null && next - handle.Ledger.Settled < options.Parallelism)
                {
                    if (next < frames.Count) queue.OfferAsync(frames[next].Clone());
                    else queue.Complete();
                    next++;
                }
        }
        handle = EdgeStream.Run(edge, source, options, detect, swap, Sink.ForEach<EmittedFrame>(f =>
        {
            emitted(f);
            f.Dispose();
            Feed();
        }), marks: null);
        // Drops settle no emitted frame: a timer notices their freed slots.
        var refill = new Timer(_ => Feed(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(5));
        handle.Completion.ContinueWith(_ => refill.Dispose(), TaskScheduler.Default);
        Feed();
        return handle;
    }

    /// <summary>Waits until the plan puts face-analysis on <paramref name="workers"/> workers.</summary>
    public static async Task Placed(IActorRef coordinator, int workers, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var plan = await coordinator.Ask<PlacementPlan>(new GetPlan(), TimeSpan.FromSeconds(10));
            var placed = plan.NodesOf(WorkerModels.FaceAnalysis).Count;
            if (placed == workers) return;
            if (waited.Elapsed > timeout)
                throw new TimeoutException($"face-analysis placed on {placed} of {workers} workers after {timeout.TotalSeconds:F0} s: {PlacementView.Describe(plan)}");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts.Reverse())
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
