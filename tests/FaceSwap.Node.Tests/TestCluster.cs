using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Edge;
using Mat = OpenCvSharp.Mat;
using Akka.Hosting;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Identities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>One node of a test cluster: a real host (the same NodeHost the binary runs) on its own loopback port.</summary>
public sealed class TestNode(IHost host, NodeSettings settings, WorkerModels? worker) : IAsyncDisposable
{
    public IHost Host { get; } = host;
    public NodeSettings Settings { get; } = settings;
    /// <summary>A gpu-worker's models (its batchers' books); null on other roles.</summary>
    public WorkerModels? Worker { get; } = worker;
    public ActorSystem System => Host.Services.GetRequiredService<ActorSystem>();
    public ActorRegistry Registry => Host.Services.GetRequiredService<ActorRegistry>();
    public IActorRef Detect => Registry.Get<DetectRegion>();
    public IActorRef Swap => Registry.Get<SwapRegion>();
    /// <summary>The placement coordinator's proxy.</summary>
    public IActorRef Coordinator => Registry.Get<PlacementCoordinatorKey>();
    /// <summary>This node's cluster address, as the placement plan names nodes.</summary>
    public string Address => Akka.Cluster.Cluster.Get(System).SelfAddress.ToString();
    /// <summary>This node's copy of the placement plan.</summary>
    public PlacementView Placement => PlacementView.For(System);
    private bool _stopped;

    /// <summary>Waits until the plan puts <paramref name="model"/> on this worker and the worker has loaded it.</summary>
    public async Task Placed(string model, TimeSpan? timeout = null)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        await Placement.When(plan => plan.NodesOf(model).Contains(Address), wait);
        await ClusterFixture.Until(() => Worker?.LoadedModels().Contains(model) == true, wait, () => $"{model} not loaded on {Address}");
    }

    /// <summary>A graceful leave, as on SIGTERM: CoordinatedShutdown hands the node's shards over.</summary>
    public async Task Stop()
    {
        if (_stopped) return;
        _stopped = true;
        await Host.StopAsync();
        Host.Dispose();
        Worker?.Dispose();
    }

    public async ValueTask DisposeAsync() => await Stop();
}

/// <summary>The smallest whole cluster: a seed, a gpu-worker and an edge, each its own node; stopped edge first.</summary>
public sealed record ThreeNodes(TestNode Seed, TestNode Worker, TestNode Edge) : IAsyncDisposable
{
    public static async Task<ThreeNodes> Start(ClusterFixture fixture, BatchingOptions? batching = null)
    {
        var seed = await fixture.Start([Roles.Seed]);
        var worker = await fixture.Start([Roles.Worker], seed.Settings.SelfAddress, batching: batching);
        var edge = await fixture.Start([Roles.Edge], seed.Settings.SelfAddress);
        await ClusterFixture.AllUp(3, seed, worker, edge);
        return new ThreeNodes(seed, worker, edge);
    }

    public async ValueTask DisposeAsync()
    {
        await Edge.Stop();
        await Worker.Stop();
        await Seed.Stop();
    }
}

/// <summary>
/// Several nodes in one test process, each an ActorSystem on its own loopback port with real remoting and
/// real serialization (serialize-messages on, so even local messages go through the MessagePack serializer).
/// The swap source is the average face of the sample photos, registered with consent for streams.
/// </summary>
public sealed class ClusterFixture : IDisposable
{
    public const string Identity = IdentityIds.Average;
    /// <summary>Every test node's management API token.</summary>
    public const string ManagementToken = "test-token";
    /// <summary>Local serialization on; DistributedData's durable store off with it, since the replicator's messages to its store are not meant to be serialized.</summary>
    private const string Hocon = """
        akka.actor.serialize-messages = on
        akka.cluster.distributed-data.durable.keys = []
        """;
    private readonly TestPaths.TempDir _dir = new();
    private readonly ConsentRegistry _consent;
    private readonly IdentityStore _identities;
    private readonly ModelStore _store = new(TestPaths.ModelStore);

    public ClusterFixture()
    {
        DefaultPackBuilder.Build(TestPaths.NodeModules, _store);
        using (var photos = FaceAnalyzer.Open(_store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance))
        {
            var samples = Enumerable.Range(1, 6).Select(n => Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg")).ToList();
            Average = AverageFaceBuilder.Build(photos, samples).Face;
        }
        _identities = new IdentityStore(Path.Combine(_dir.Path, "identities"));
        _identities.Save(new IdentityRecord(Identity, "synthetic", "average face of the sample photos", [], 0, DateTimeOffset.UtcNow), Average);
        _consent = new ConsentRegistry($"Data Source={Path.Combine(_dir.Path, "consent.db")}");
        _consent.Register("nobody: synthetic average face", [ConsentScopes.Stream], "test", identityId: Identity);
    }

    public SourceFace Average { get; }

    /// <summary>
    /// Four real people as stream sources: the largest face of sample photos 1 to 4, each registered with consent
    /// for streams. Built on first use.
    /// </summary>
    public IReadOnlyList<(string Id, SourceFace Face)> PhotoIdentities
    {
        get
        {
            lock (_identities)
            {
                if (_photoIdentities is not null) return _photoIdentities;
                using var photos = FaceAnalyzer.Open(_store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance);
                var identities = new List<(string, SourceFace)>();
                for (var n = 1; n <= 4; n++)
                {
                    using var photo = FaceSwap.Vision.ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg"));
                    var face = photos.Analyze(FaceSwap.Vision.BgrImage.Of(photo)).MaxBy(f => f.Detection.Box.Width)
                        ?? throw new InvalidOperationException($"sample{n}.jpg: no face");
                    var id = $"sample-{n}";
                    var source = FaceSwap.Swap.Evaluation.SwapEvaluation.SourceFrom(photo, face);
                    _identities.Save(new IdentityRecord(id, "photo", $"largest face of sample{n}.jpg", [$"sample{n}.jpg"], 1, DateTimeOffset.UtcNow), source);
                    _consent.Register($"test subject of sample{n}.jpg", [ConsentScopes.Stream], "test", identityId: id);
                    identities.Add((id, source));
                }
                return _photoIdentities = identities;
            }
        }
    }

    private List<(string, SourceFace)>? _photoIdentities;

    /// <summary><paramref name="fsc"/> pointed at this fixture's consent registry and identity store (the ones its workers read), for an edge that lists or registers identities.</summary>
    public FaceSwap.Cluster.Configuration.FscSettings Governance(FaceSwap.Cluster.Configuration.FscSettings fsc) =>
        fsc with { ConsentDatabase = $"Data Source={Path.Combine(_dir.Path, "consent.db")}", IdentityStore = Path.Combine(_dir.Path, "identities") };

    /// <summary>An analyser like a worker's (video-mode detector), for the in-process reference.</summary>
    public FaceAnalyzer OpenAnalyzer() => FaceAnalyzer.Open(_store, new InferenceOptions(), new DetectorOptions(), NullLogger.Instance);

    /// <summary>Starts a node with <paramref name="roles"/>; the first node of a cluster passes no seeds and seeds itself.</summary>
    /// <param name="enhancers">the worker's enhancer models, for the coordinator to place; none: streams asking for one fail</param>
    /// <param name="serializeLocal">serialize even local messages (off only where Akka's own local events would not survive it)</param>
    /// <param name="batching">the worker's batchers; none: the shipped config's</param>
    /// <param name="configure">changes to the node's settings (a worker's capacity, its unload grace)</param>
    /// <param name="extraHocon">HOCON over the node's (a worker speaking an older wire format)</param>
    public async Task<TestNode> Start(string[] roles, string? seed = null, ModelStore? enhancers = null, bool serializeLocal = true,
        BatchingOptions? batching = null, Func<NodeSettings, NodeSettings>? configure = null, string extraHocon = "")
    {
        var port = TestPorts.Free();
        var loaded = NodeSettings.Load();
        var settings = loaded with
        {
            Roles = roles, Port = port, Seeds = seed is null ? [] : [seed], PassivateIdleAfter = TimeSpan.FromMinutes(2),
            Management = loaded.Management with { Port = 0, Token = ManagementToken },
        };
        settings = settings with { Placement = settings.Placement with { DurableDir = Path.Combine(_dir.Path, "placement") } };
        if (configure is not null) settings = configure(settings);
        var worker = roles.Contains(Roles.Worker)
            ? new WorkerModels(OpenAnalyzer(), new ConsentedSourceFaces(_identities, _consent), $"worker-{port}", enhancers, batching ?? settings.Batching,
                reopenAnalysis: OpenAnalyzer)
            : null;
        var host = NodeHost.Build(settings, worker, (serializeLocal ? Hocon : "") + "\n" + extraHocon, Environment.GetEnvironmentVariable("FSC_TEST_LOG") == "info" ? LogLevel.Information : LogLevel.Warning);
        await host.StartAsync();
        await StreamRunner.WhenUp(host, TimeSpan.FromSeconds(60));
        return new TestNode(host, settings, worker);
    }

    /// <summary>
    /// The environment for a node run as its own process (<see cref="NodeProcess"/>): this fixture's identities and
    /// consent registry, its own audit log, and <paramref name="nodeName"/> as the name its answers carry.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProcessEnvironment(string nodeName) => new Dictionary<string, string>
    {
        ["FSC_NODE_NAME"] = nodeName,
        ["FSC_CONSENT_DB"] = $"Data Source={Path.Combine(_dir.Path, "consent.db")}",
        ["FSC_AUDIT_DB"] = $"Data Source={Path.Combine(_dir.Path, $"audit-{nodeName}.db")}",
        ["FSC_IDENTITY_STORE"] = Path.Combine(_dir.Path, "identities"),
        ["FSC_PLACEMENT_DIR"] = Path.Combine(_dir.Path, "placement"),
    };

    /// <summary><paramref name="count"/> copies of <paramref name="still"/>, offered at <paramref name="rate"/> frames per second.</summary>
    public static Source<Mat, NotUsed> Paced(Mat still, int count, int rate) =>
        Source.From(Enumerable.Range(0, count)).Throttle(rate, TimeSpan.FromSeconds(1), rate, ThrottleMode.Shaping).Select(_ => still.Clone());

    /// <summary>
    /// What the worker serves flat out, from a warm-up stream of <paramref name="count"/> frames at 200 fps (which also
    /// warms what grows once: model arenas, JIT, the worker's first entity), and a rate that overloads it at least four
    /// times on any machine (200 fps at the least; served climbs when most frames drop early).
    /// </summary>
    public static async Task<(double Served, int Overload)> OverloadRate(TestNode edge, Mat still, EdgeStreamOptions options, int count)
    {
        var warmUp = EdgeStream.Run(edge.System, Paced(still, count, 200), options, edge.Detect, edge.Swap, Sink.ForEach<EmittedFrame>(f => f.Dispose()), marks: null);
        var started = Stopwatch.GetTimestamp();
        await warmUp.Completion;
        var served = warmUp.Ledger.Snapshot().Served / Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (served, Math.Max(200, (int)Math.Ceiling(4 * served)));
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms; fails with <paramref name="failure"/> (read at that moment) when <paramref name="timeout"/> passes first.</summary>
    public static async Task Until(Func<bool> condition, TimeSpan timeout, Func<string> failure)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"{failure()} within {timeout.TotalSeconds:F0} s");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every node sees <paramref name="count"/> members Up.</summary>
    public static async Task AllUp(int count, params TestNode[] nodes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (nodes.Any(n => Akka.Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) < count))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cluster did not reach {count} members up");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        Average.Dispose();
        foreach (var (_, face) in _photoIdentities ?? []) face.Dispose();
        _consent.Dispose();
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    /// <summary>Multi-node tests share the machine's two cores: they run one at a time.</summary>
    public const string Name = "cluster";
}
