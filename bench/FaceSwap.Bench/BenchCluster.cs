using Akka.Actor;
using Akka.Hosting;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Node;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    public static async Task<BenchCluster> Start(WorkerModels worker)
    {
        var settings = NodeSettings.Load();
        var seedHost = NodeHost.Build(settings with { Roles = [Roles.Seed], Port = 0, Seeds = [] }, null, Hocon, LogLevel.Warning);
        await seedHost.StartAsync();
        var seed = Akka.Cluster.Cluster.Get(await StreamRunner.WhenUp(seedHost, TimeSpan.FromMinutes(1))).SelfAddress.ToString();
        var workerHost = NodeHost.Build(settings with { Roles = [Roles.Worker], Port = 0, Seeds = [seed] }, worker, Hocon, LogLevel.Warning);
        var edgeHost = NodeHost.Build(settings with { Roles = [Roles.Edge], Port = 0, Seeds = [seed] }, null, Hocon, LogLevel.Warning);
        await workerHost.StartAsync();
        await edgeHost.StartAsync();
        await StreamRunner.WhenUp(edgeHost, TimeSpan.FromMinutes(1));
        return new BenchCluster([seedHost, workerHost, edgeHost]);
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
