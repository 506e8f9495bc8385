using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Akka.Actor;
using Akka;
using Akka.Cluster.Sharding;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Stages;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Net;
using FaceSwap.Node.Management;
using FaceSwap.Node.Tracing;
using FaceSwap.Node.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FaceSwap.Node;

/// <summary>
/// Builds a node: remoting on its port (over mutual TLS when configured), clustering with its roles and the
/// keep-majority split-brain resolver, the MessagePack serializer for every cross-node message, per role the stage
/// regions (gpu-worker) or their proxies (edge), and its HTTP endpoint (probes, metrics, the management API) in the
/// same host. The host's stop (SIGTERM) runs CoordinatedShutdown: the node leaves and hands its shards over.
/// </summary>
public static class NodeHost
{
    /// <param name="worker">the models the stage entities share; required with the gpu-worker role</param>
    /// <param name="extraHocon">HOCON laid over the defaults and the serializer binding (tests turn serialize-messages on, or bind an older wire format)</param>
    /// <param name="stages">the gpu-worker's stage entities and models, when not <paramref name="worker"/>'s own (a simulated device's, for a dry run)</param>
    public static IHost Build(NodeSettings settings, WorkerModels? worker, string extraHocon = "", LogLevel logLevel = LogLevel.Information, WorkerStages? stages = null)
    {
        stages ??= worker is null ? null : WorkerStages.Of(worker);
        if (settings.Has(Roles.Worker) && stages is null) throw new ArgumentException("a gpu-worker node needs its models");
        var ring = new LogRing(settings.Management.LogLines);
        void Services(ILoggingBuilder logging, IServiceCollection services)
        {
            logging.ClearProviders();
            logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
            logging.AddProvider(ring);
            logging.SetMinimumLevel(logLevel);
            logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            NodeTracing.Add(services, settings.Tracing, settings.SelfAddress);
            services.AddSingleton(ring);
            services.AddSingleton<StreamDirectory>();
            services.AddSingleton(p => new Live.LiveSessions(settings, p));
            services.AddSingleton(p => new NodeMetrics(settings, p.GetRequiredService<StreamDirectory>(), worker));
            services.AddAkka(settings.SystemName, (akka, provider) =>
            {
                Configure(akka, settings, stages, extraHocon);
                // A node that is downed (or told to stop) ends its live streams first, while its graphs still run: every
                // client gets 1001 "the edge is shutting down" at once and reconnects elsewhere, instead of a dead socket.
                if (settings.Has(Roles.Edge))
                    akka.AddStartup((system, _) => CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-live-streams", async () =>
                    {
                        await provider.GetRequiredService<Live.LiveSessions>().StopAll(TimeSpan.FromSeconds(4));
                        return Done.Instance;
                    }));
                akka.WithActors((system, _) => system.ActorOf(
                    ManagementAgent.Props(settings, provider.GetRequiredService<StreamDirectory>(), worker), ManagementAgent.Name));
            });
        }
        if (!settings.Management.Enabled)
        {
            var builder = Host.CreateApplicationBuilder([]);
            Services(builder.Logging, builder.Services);
            return builder.Build();
        }
        // The management endpoint shares the host: it starts and stops with the node.
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        web.WebHost.UseKestrel(o =>
        {
            o.Listen(settings.Management.Hostname == "localhost" ? IPAddress.Loopback : IPAddress.Parse(settings.Management.Hostname), settings.Management.Port);
            o.Limits.MaxRequestBodySize = ManagementSettings.MaxBodyBytes;
            o.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            o.Limits.MaxRequestLineSize = 8 * 1024;
        });
        Services(web.Logging, web.Services);
        ManagementApi.AddServices(web.Services, settings.Management);
        var app = web.Build();
        ManagementApi.Map(app, settings, worker);
        if (settings.Has(Roles.Edge) && settings.Live.Enabled) Live.LiveEndpoints.Map(app, settings);
        return app;
    }

    /// <summary>Where the node's management endpoint listens (http://host:port, the port it bound), once started; null when it is off.</summary>
    public static string? ManagementAddress(IHost host) =>
        host.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();

    /// <summary>
    /// Where this node keeps the placement plan on disk: a folder of its own (two nodes may not share one), named by its
    /// port, so the node restarted on that port resumes it. A node on any free port is never that node again: it keeps
    /// nothing on disk (the other nodes' replicas still outlive it).
    /// </summary>
    private static string DurableStore(NodeSettings settings) => settings.Port > 0
        ? $"akka.cluster.distributed-data.durable.file.dir = \"{Path.Combine(settings.Placement.DurableDir, $"{settings.SystemName}-{settings.Port}").Replace("\\", "/")}\""
        : "akka.cluster.distributed-data.durable.keys = []";

    private static void Configure(AkkaConfigurationBuilder akka, NodeSettings settings, WorkerStages? stages, string extraHocon)
    {
        akka.AddHocon($$"""
            {{FaceSwapSerializer.HoconBinding}}
            {{extraHocon}}
            akka.remote.dot-netty.tcp.maximum-frame-size = {{settings.MaxFrameSize}}b
            akka.cluster.sharding.passivate-idle-entity-after = {{(int)settings.PassivateIdleAfter.TotalSeconds}}s
            {{DurableStore(settings)}}
            """, HoconAddMode.Prepend);
        if (settings.Tls.Enabled)
        {
            akka.AddHocon("akka.remote.dot-netty.tcp.enable-ssl = on", HoconAddMode.Prepend);
            akka.AddSetup(ClusterTls.Setup(settings.Tls));
        }
        // The faceswap tree (the stage dispatcher among it) from the same files fsc reads.
        akka.AddHocon(settings.Config, HoconAddMode.Append);
        akka.ConfigureLoggers(loggers =>
        {
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });
        akka.WithRemoting(new RemoteOptions
        {
            HostName = settings.Hostname,
            PublicHostName = settings.PublicHostname,
            Port = settings.Port,
            PublicPort = settings.PublicPort > 0 ? settings.PublicPort : null,
            MaxFrameSize = settings.MaxFrameSize,
            SendBufferSize = 2 * settings.MaxFrameSize,
            ReceiveBufferSize = 2 * settings.MaxFrameSize,
        });
        akka.WithClustering(new ClusterOptions
        {
            Roles = [.. settings.Roles],
            SeedNodes = [.. settings.Seeds],
            SplitBrainResolver = new KeepMajorityOption(),
        });
        // No seeds: this node starts the cluster on itself, at the address it actually bound (port 0 included).
        if (settings.Seeds.Count == 0)
            akka.AddStartup((system, _) => Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(system).SelfAddress));

        // The placement coordinator on the oldest node (any role: a lone seed may leave), a proxy on every node, and
        // every node's view of its plan, which the shard allocation strategy reads.
        akka.WithSingleton<PlacementCoordinatorKey>("placement-coordinator",
            PlacementCoordinator.Props(settings.Placement.Policy, settings.Placement.ConsistencyTimeout), new ClusterSingletonOptions());
        akka.WithActors((system, _) => system.ActorOf(PlanWatcher.Props(), "placement-view"));

        var extractor = new StreamShardExtractor();
        var enhanceExtractor = new EnhanceShardExtractor();
        if (settings.Has(Roles.Worker))
        {
            akka.WithActors((system, registry) =>
            {
                var sharding = ClusterSharding.Get(system);
                var shards = ClusterShardingSettings.Create(system).WithRole(Roles.Worker).WithRememberEntities(false);
                var view = PlacementView.For(system);
                var cluster = Akka.Cluster.Cluster.Get(system);
                var self = cluster.SelfAddress;
                bool Reachable(Address node) => cluster.State.Unreachable.All(m => m.Address != node);
                // A stage's shards go where the plan put its model: detect and swap need face-analysis, enhance the enhancer its shard names.
                IShardAllocationStrategy Placed(Func<string, string> modelOf) =>
                    new PlacementAllocationStrategy(() => view.Plan, modelOf, self, system.Log, isReachable: Reachable);
                // A set without an enhance stage (a simulated device) starts no enhance region; its swap entities forward to none.
                var enhance = stages!.Enhance is { } enhanceProps
                    ? sharding.Start(Regions.Enhance, _ => enhanceProps(), shards, enhanceExtractor, Placed(EnhanceShardExtractor.ModelOf), PoisonPill.Instance)
                    : null;
                var detect = sharding.Start(Regions.Detect, _ => stages.Detect(), shards, extractor,
                    Placed(_ => WorkerModels.FaceAnalysis), PoisonPill.Instance);
                var swap = sharding.Start(Regions.Swap, _ => stages.Swap(enhance), shards, extractor,
                    Placed(_ => WorkerModels.FaceAnalysis), PoisonPill.Instance);
                if (enhance is not null) registry.Register<EnhanceRegion>(enhance);
                registry.Register<DetectRegion>(detect);
                registry.Register<SwapRegion>(swap);
                system.ActorOf(WorkerAgent.Props(stages.Models, registry.Get<PlacementCoordinatorKey>(), settings.Agent), "placement-agent");
            });
        }
        else if (settings.Has(Roles.Edge))
        {
            akka.WithShardRegionProxy<DetectRegion>(Regions.Detect, Roles.Worker, extractor);
            akka.WithShardRegionProxy<SwapRegion>(Regions.Swap, Roles.Worker, extractor);
            akka.WithShardRegionProxy<EnhanceRegion>(Regions.Enhance, Roles.Worker, enhanceExtractor);
        }
    }
}
