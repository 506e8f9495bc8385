using System.CommandLine;
using FaceSwap.Contracts;
using FaceSwap.Inference.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node;

/// <summary>
/// <c>faceswap-node run</c>: a node with the roles asked for, until SIGTERM (a graceful leave); with <c>--stream</c>
/// on an edge, one stream to a file. <c>faceswap-node demo</c>: the embedded default (seed + edge + worker in one
/// process, a real cluster on loopback), a generated clip swapped to out.mp4, and its figures.
/// </summary>
public static class NodeCommands
{
    public static async Task<int> Run(string[] args)
    {
        var roles = new Option<string?>("--roles") { Description = "Comma-separated: seed, edge, gpu-worker (default from config: all three)." };
        var port = new Option<int?>("--port") { Description = "Remoting port (0: any free one)." };
        var managementPort = new Option<int?>("--management-port") { Description = "Port of the HTTP endpoint: health, metrics, management API (0: any free one)." };
        var seeds = new Option<string?>("--seeds") { Description = "Comma-separated seed addresses, akka.tcp://faceswap@host:port." };
        var stream = new Option<string?>("--stream") { Description = "On an edge: a video file, camera (/dev/video0) or rtsp/http URL to swap." };
        var identity = new Option<string>("--identity") { Description = "Source identity (consent for streams needed).", DefaultValueFactory = _ => "average" };
        var output = new Option<string>("--output", "-o") { Description = "Output video file.", DefaultValueFactory = _ => "out.mp4" };
        var fps = new Option<double>("--fps") { Description = "Stream rate (fail-mode frames keep it).", DefaultValueFactory = _ => 30 };
        var run = new Command("run", "Run a node with its roles until SIGTERM; with --stream, swap one stream to a file.") { roles, port, managementPort, seeds, stream, identity, output, fps };
        run.SetAction(async (parse, cancel) => await Node(Settings(parse.GetValue(roles), parse.GetValue(port), parse.GetValue(managementPort), parse.GetValue(seeds)),
            parse.GetValue(stream), parse.GetValue(identity)!, parse.GetValue(output)!, parse.GetValue(fps), cancel));

        var seconds = new Option<double>("--seconds") { Description = "Length of the generated clip.", DefaultValueFactory = _ => 10 };
        var demoOutput = new Option<string>("--output", "-o") { Description = "Output video file.", DefaultValueFactory = _ => "out.mp4" };
        var plot = new Option<string?>("--plot") { Description = "Also write the stream's latency timeline as a PNG chart (default: beside the output, OUTPUT.latency.png)." };
        var demo = new Command("demo", "The embedded default: seed + edge + gpu-worker in one process on loopback; swaps the average face onto a generated clip.") { seconds, demoOutput, plot };
        demo.SetAction(async (parse, cancel) => await Demo(parse.GetValue(seconds), parse.GetValue(demoOutput)!, parse.GetValue(plot)));

        var root = new RootCommand("faceswap-node: a FaceSwapCluster node (seed, edge, gpu-worker)") { run, demo };
        try
        {
            return await root.Parse(args).InvokeAsync();
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or IOException or ModelStoreException or TimeoutException
            or FaceSwap.Edge.StreamRefusedException or Akka.Actor.AskTimeoutException)
        {
            Console.Error.WriteLine($"faceswap-node: {e.Message}");
            return 1;
        }
    }

    private static NodeSettings Settings(string? roles, int? port, int? managementPort, string? seeds)
    {
        var settings = NodeSettings.Load();
        return settings with
        {
            // A node on any free remoting port is one of several on this host: its endpoint takes any free port too.
            Management = managementPort is { } m ? settings.Management with { Port = m }
                : port == 0 ? settings.Management with { Port = 0 } : settings.Management,
            Roles = roles is null ? settings.Roles : NodeSettings.CheckRoles(NodeSettings.Split(roles), "--roles"),
            Port = port ?? settings.Port,
            Seeds = seeds is null ? settings.Seeds : NodeSettings.Split(seeds),
        };
    }

    private static async Task<int> Node(NodeSettings settings, string? stream, string identity, string output, double fps, CancellationToken cancel)
    {
        using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        var logger = logging.CreateLogger("faceswap-node");
        var fenceLimit = StallFence.LimitFrom(settings.Config);
        using var fence = fenceLimit is { } limit ? new StallFence(limit, gap => StallFence.ExitNow(gap, limit)) : null;
        logger.LogInformation("stall fence: {Fence}", fenceLimit is { } l ? $"a freeze over {l.TotalSeconds:0.#} s ends the process (exit code {StallFence.ExitCode})" : "off");
        using var worker = settings.Has(Roles.Worker) ? WorkerFactory.Open(settings, new ModelStore(RepositoryPaths.ModelStore), logger) : null;
        using var host = NodeHost.Build(settings, worker);
        await host.StartAsync(cancel);
        var system = await StreamRunner.WhenUp(host, TimeSpan.FromMinutes(2));
        logger.LogInformation("node {Address} up with roles {Roles}; management {Management}", Akka.Cluster.Cluster.Get(system).SelfAddress, string.Join(",", settings.Roles),
            NodeHost.ManagementAddress(host) ?? "off");
        if (stream is not null)
        {
            if (!settings.Has(Roles.Edge)) throw new ArgumentException("--stream needs the edge role");
            var result = await StreamRunner.ToFile(host, settings, $"stream-{Guid.NewGuid():N}"[..15], stream, identity, output, fps, worker?.Analyzer.Models);
            Console.WriteLine(StreamReport.Format(result.Stats, result.Elapsed, result.Emitted));
            await host.StopAsync();
            return 0;
        }
        await host.WaitForShutdownAsync(cancel);
        return 0;
    }

    private static async Task<int> Demo(double seconds, string output, string? plot)
    {
        var loaded = NodeSettings.Load();
        var settings = loaded with { Roles = [.. Roles.All], Port = 0, Seeds = [], Management = loaded.Management with { Port = 0 } };
        if (!Directory.Exists(Path.Combine(settings.Fsc.IdentityStore, FaceSwap.Governance.Consent.IdentityIds.Average)))
            throw new FileNotFoundException($"{settings.Fsc.IdentityStore}: no '{FaceSwap.Governance.Consent.IdentityIds.Average}' identity; make the demo's synthetic face with './fsc identities make-average' (scripts/demo.sh does)");
        var input = Path.Combine(RepositoryPaths.Root, ".cache", "demo", "stream-input.mp4");
        Console.WriteLine($"demo: generating a {seconds:0.#} s 640x480 clip at 30 fps -> {input}");
        DemoVideo.Write(input, seconds, 30);
        using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        using var worker = WorkerFactory.Open(settings, store, logging.CreateLogger("worker"));
        using var host = NodeHost.Build(settings, worker, logLevel: LogLevel.Warning);
        await host.StartAsync();
        var system = await StreamRunner.WhenUp(host, TimeSpan.FromSeconds(30));
        Console.WriteLine($"demo: embedded node {Akka.Cluster.Cluster.Get(system).SelfAddress} up (seed, edge, gpu-worker); streaming the clip through the cluster at 30 fps");
        if (NodeHost.ManagementAddress(host) is { } management)
            Console.WriteLine($"demo: management {management}; meanwhile try './fsc {new Uri(management).Authority} streams list'");
        var result = await StreamRunner.ToFile(host, settings, "demo", input, FaceSwap.Governance.Consent.IdentityIds.Average, output, 30, worker.Analyzer.Models);
        Console.WriteLine(StreamReport.Format(result.Stats, result.Elapsed, result.Emitted));
        plot ??= Path.ChangeExtension(output, ".latency.png");
        LatencyChart.Write(plot, result.Timeline, result.BudgetMs,
            $"demo stream, 640x480 at 30 fps: {result.Stats.Served} swapped, {result.Stats.FailMode} fail-mode, {result.Stats.DroppedTotal} dropped");
        Console.WriteLine($"demo: latency timeline -> {plot}");
        Console.WriteLine($"demo: wrote {output} (labelled, watermarked: session {result.Session}; signed provenance {result.Provenance}); check it with './fsc verify {output}'");
        await host.StopAsync();
        return 0;
    }
}
