using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace FaceSwap.Bench;

/// <summary>
/// <c>dotnet run --project bench/FaceSwap.Bench -c Release -- cluster [--frames N]</c>: what the cluster path costs
/// against the in-process engine on the same frames, same machine, same run. In process: StreamSwapEngine on each
/// frame, one after another. Through the cluster: seed, worker and edge as three ActorSystems on loopback TCP
/// (real remoting and serialization), one frame at a time (nothing dropped, so the per-frame cost is comparable),
/// then two at a time (pipelined). Reports fps, latency per frame and CPU-ms per frame (the whole process: every
/// node, codec, serialization and transport included).
/// </summary>
public static class ClusterCostCampaign
{
    private sealed record Mode(string Name, int Frames, TimeSpan Wall, TimeSpan Cpu, LongHistogram Latency)
    {
        public double Fps => Frames / Wall.TotalSeconds;
        public double CpuMsPerFrame => Cpu.TotalMilliseconds / Frames;
        public double P(double percentile) => Latency.GetValueAtPercentile(percentile) / 1000.0;
    }

    /// <summary>The stream's source without the consent registry: the bench's face is the synthetic average.</summary>
    private sealed class FixedSource(SourceFace face) : ISourceFaces
    {
        public SourceLease Open(string identityId) => new(new SourceFace(face.Texture.Clone(), [.. face.Mesh]), CancellationToken.None);
    }

    public static int Run(string[] args)
    {
        var count = 300;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--frames" && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n is >= 10 and <= 10_000) count = n;
            else if (args[i] != "--frames" && !(i > 0 && args[i - 1] == "--frames")) throw new ArgumentException($"unknown argument '{args[i]}': the cluster campaign takes only --frames N (10 to 10000)");
        }
        return Measure(count).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int count)
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        SourceFace average;
        using (var photos = FaceAnalyzer.Open(store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance))
            average = AverageFaceBuilder.Build(photos, Enumerable.Range(1, 6).Select(n => Path.Combine(RepositoryPaths.SamplePhotos, $"sample{n}.jpg"))).Face;
        var frames = DemoVideo.Frames(count, 30).ToList();
        Console.WriteLine($"cluster cost: {count} frames 640x480 (the demo clip), {Environment.ProcessorCount} cores");

        var inProcess = InProcess(store, average, frames);
        Console.WriteLine($"  in process done: {inProcess.Fps:F1} fps");

        var settings = NodeSettings.Load();
        var hocon = "akka.loglevel = WARNING";
        using var host1 = NodeHost.Build(settings with { Roles = [Roles.Seed], Port = 0, Seeds = [] }, null, hocon, LogLevel.Warning);
        await host1.StartAsync();
        var seed = Akka.Cluster.Cluster.Get(await StreamRunner.WhenUp(host1, TimeSpan.FromMinutes(1))).SelfAddress.ToString();
        using var worker = new WorkerModels(FaceAnalyzer.Open(store, new InferenceOptions(), new DetectorOptions(), NullLogger.Instance), new FixedSource(average), "bench-worker");
        using var host2 = NodeHost.Build(settings with { Roles = [Roles.Worker], Port = 0, Seeds = [seed] }, worker, hocon, LogLevel.Warning);
        using var host3 = NodeHost.Build(settings with { Roles = [Roles.Edge], Port = 0, Seeds = [seed] }, null, hocon, LogLevel.Warning);
        await host2.StartAsync();
        await host3.StartAsync();
        await StreamRunner.WhenUp(host3, TimeSpan.FromMinutes(1));
        var edge = host3.Services.GetRequiredService<ActorSystem>();
        var registry = host3.Services.GetRequiredService<ActorRegistry>();
        var (detect, swap) = (registry.Get<DetectRegion>(), registry.Get<SwapRegion>());

        // The cluster's upkeep with no stream (heartbeats, gossip, idle dispatcher threads): part of every frame's CPU-ms above.
        using (var self = Process.GetCurrentProcess())
        {
            var idleCpu = self.TotalProcessorTime;
            await Task.Delay(TimeSpan.FromSeconds(5));
            self.Refresh();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  idle cluster (3 nodes, no stream): {(self.TotalProcessorTime - idleCpu).TotalMilliseconds / 5000 * 100:F1} % of a core"));
        }
        var sequential = await ThroughCluster("cluster, 1 in flight", edge, detect, swap, frames, parallelism: 1);
        var pipelined = await ThroughCluster("cluster, 2 in flight", edge, detect, swap, frames, parallelism: 2);
        await host3.StopAsync();
        await host2.StopAsync();
        await host1.StopAsync();

        Console.WriteLine();
        Console.WriteLine("| mode | fps | latency p50 | latency p99 | CPU-ms per frame (all nodes) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var m in new[] { inProcess, sequential.Mode, pipelined.Mode })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m.Name} | {m.Fps:F1} | {m.P(50):F1} ms | {m.P(99):F1} ms | {m.CpuMsPerFrame:F1} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cluster adds {sequential.Mode.P(50) - inProcess.P(50):F1} ms latency (p50) and {sequential.Mode.CpuMsPerFrame - inProcess.CpuMsPerFrame:F1} CPU-ms per frame; " +
            $"throughput ratio cluster ÷ in-process: {sequential.Mode.Fps / inProcess.Fps:F2} one at a time, {pipelined.Mode.Fps / inProcess.Fps:F2} pipelined"));
        var codec = sequential.Stats.Latency.GetValueOrDefault(EdgeStages.Encode);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"edge JPEG encode p50 {codec?.P50 ?? 0:F2} ms per request; worker's own time p50: swap {sequential.Stats.Latency[EdgeStages.WorkerSwap].P50:F1} ms, detect {sequential.Stats.Latency[EdgeStages.WorkerDetect].P50:F1} ms; " +
            $"wire per frame: {string.Join(", ", sequential.Stats.Bytes.Select(b => $"{b.Key} {b.Value.SentPerRequest / 1024:F1} KiB out, {b.Value.ReceivedPerRequest / 1024:F1} KiB back"))}"));
        foreach (var f in frames) f.Dispose();
        average.Dispose();
        return 0;
    }

    private static Mode InProcess(ModelStore store, SourceFace average, List<Mat> frames)
    {
        using var analyzer = FaceAnalyzer.Open(store, new InferenceOptions(), new DetectorOptions(), NullLogger.Instance);
        var engine = new StreamSwapEngine(analyzer, average, new StreamEngineOptions());
        var latency = new LongHistogram(1, 60_000_000, 3);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        foreach (var frame in frames)
        {
            var started = Stopwatch.GetTimestamp();
            using var copy = frame.Clone();
            engine.Process(copy);
            latency.RecordValue((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        self.Refresh();
        return new Mode("in process (StreamSwapEngine)", frames.Count, wall.Elapsed, self.TotalProcessorTime - cpu, latency);
    }

    private static async Task<(Mode Mode, StreamStats Stats)> ThroughCluster(string name, ActorSystem edge, IActorRef detect, IActorRef swap, List<Mat> frames, int parallelism)
    {
        var options = new EdgeStreamOptions
        {
            StreamId = $"bench-{parallelism}", Swap = new StreamSettings(FaceSwap.Governance.Consent.IdentityIds.Average),
            FramesPerSecond = 0.1, BudgetMs = 10_000, Parallelism = parallelism, BufferSize = parallelism,
        };
        await EdgeStream.Prepare(options, detect, swap, TimeSpan.FromSeconds(30));
        var latency = new LongHistogram(1, 60_000_000, 3);
        // A closed loop: a frame enters as one leaves, so none waits in the keep-latest buffer or is dropped there, and
        // each one's latency is its own cost through the cluster, not a wait.
        var (queue, source) = Source.Queue<Mat>(parallelism + 1, Akka.Streams.OverflowStrategy.Backpressure).PreMaterialize(edge.Materializer());
        var next = 0;
        void Feed()
        {
            if (next < frames.Count) queue.OfferAsync(frames[next++].Clone());
            if (next == frames.Count) { next++; queue.Complete(); }
        }
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var handle = EdgeStream.Run(edge, source, options, detect, swap,
            Sink.ForEach<EmittedFrame>(f =>
            {
                latency.RecordValue((long)(f.AgeMs * 1000));
                f.Dispose();
                Feed();
            }), marks: null);
        for (var i = 0; i < parallelism; i++) Feed();
        await handle.Completion;
        self.Refresh();
        var stats = handle.Ledger.Snapshot();
        if (stats.Served != frames.Count)
            Console.WriteLine($"  {name}: {stats.Served} of {frames.Count} served (dropped {string.Join(", ", stats.Dropped)}, fail-mode {stats.FailMode})");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} done: {frames.Count / wall.Elapsed.TotalSeconds:F1} fps"));
        return (new Mode(name, (int)stats.Served, wall.Elapsed, self.TotalProcessorTime - cpu, latency), stats);
    }
}
