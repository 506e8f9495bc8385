using System.Collections;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Placement;
using FaceSwap.Edge;
using FaceSwap.Governance.Consent;
using FaceSwap.Node;
using FaceSwap.Swap.Identities;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>scaleout [--seconds S]</c>: served fps with 1, 2 and 4 gpu-worker processes (the bench's own
/// <see cref="ClusterWorkerProcess"/>, each pinned to one core), seed and edge in this process on the core(s) left.
/// Workers get the last cores, at most all but one, round-robin: W workers can use min(W, cores − 1) cores, and
/// fps are reported per such core, so a host with fewer cores than workers is not read as a scaling failure.
/// Each round runs 3 streams per worker, each a closed loop with 1 frame in flight (the workers are never idle,
/// nothing is overtaken), warms up, then measures S seconds: fps, worker and seed+edge CPU per frame, latency.
/// </summary>
public static class ScaleOutCampaign
{
    // Each stream has one frame in flight, so none is overtaken and dropped as late; three per worker keep the worker busy
    // while each one's frame is on the wire.
    private const int StreamsPerWorker = 3;
    private static readonly int[] WorkerCounts = [1, 2, 4];

    private sealed record Round(int Workers, int Cores, int Streams, long Served, TimeSpan Window, TimeSpan WorkerCpu, TimeSpan EdgeCpu, LongHistogram Latency)
    {
        public double Fps => Served / Window.TotalSeconds;
        public double FpsPerCore => Fps / Cores;
        public double WorkerCpuMs => WorkerCpu.TotalMilliseconds / Served;
        public double EdgeCpuMs => EdgeCpu.TotalMilliseconds / Served;
        public double P(double percentile) => Latency.GetValueAtPercentile(percentile) / 1000.0;
    }

    public static int Run(string[] args)
    {
        var seconds = 20;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] == "--seconds" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 3 and <= 600) seconds = s;
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the scaleout campaign takes --seconds S (3 to 600)");
        }
        var cores = Enumerable.Range(0, 64).Where(c => (CoreAffinity.Current() >> c & 1) != 0).ToList();
        if (cores.Count < 2)
            throw new ArgumentException($"scaleout needs 2 cores or more (the workers' and one for seed and edge); this process may run on core(s) {string.Join(", ", cores)} only");
        return Measure(seconds, cores).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int seconds, List<int> cores)
    {
        var wall = Stopwatch.StartNew();
        var (_, average) = BenchCluster.PackAndAverageFace();
        var frames = DemoVideo.Frames(300, 30).ToList();
        // The worker processes get the average face through an identity folder, as in the cluster campaign.
        var identities = Path.Combine(Path.GetTempPath(), $"fsc-bench-scaleout-{Guid.NewGuid():N}");
        new IdentityStore(identities).Save(new IdentityRecord(IdentityIds.Average, "synthetic-average", "the scale-out campaign's average face, for its worker processes",
            [], 0, DateTimeOffset.UtcNow), average);
        var warmUp = TimeSpan.FromSeconds(Math.Min(5, seconds));
        Console.WriteLine($"scaleout: {cores.Count} cores ({string.Join(", ", cores)}); {string.Join(", ", WorkerCounts)} workers, {StreamsPerWorker} streams each, " +
            $"{warmUp.TotalSeconds:0} s warm-up + {seconds} s measured per round");
        try
        {
            var rounds = new List<Round>();
            foreach (var workers in WorkerCounts) rounds.Add(await RoundOf(workers, cores, warmUp, TimeSpan.FromSeconds(seconds), frames, identities));

            var table = BenchReport.Table(
                ["workers", "cores the workers can use", "streams", "swapped fps total", "swapped fps per worker core", "worker CPU-ms per frame", "seed+edge CPU-ms per frame", "latency p50", "latency p99"],
                rounds.Select(r => (IReadOnlyList<string>)[.. new FormattableString[]
                {
                    $"{r.Workers}", $"{r.Cores}", $"{r.Streams}", $"{r.Fps:F1}", $"{r.FpsPerCore:F1}", $"{r.WorkerCpuMs:F1}", $"{r.EdgeCpuMs:F1}", $"{r.P(50):F1} ms", $"{r.P(99):F1} ms",
                }.Select(FormattableString.Invariant)]));
            Console.WriteLine();
            Console.Write(table);
            var workerCores = Math.Min(WorkerCounts.Max(), cores.Count - 1);
            var oversubscribed = rounds.Where(r => r.Workers > r.Cores).Select(r => r.Workers.ToString(CultureInfo.InvariantCulture)).ToList();
            var caveat = oversubscribed.Count == 0
                ? "Every worker has a core of its own here, so the totals compare as well as the per-core figures."
                : $"**On this {cores.Count}-core host {string.Join(" and ", oversubscribed)} workers oversubscribe the {(workerCores == 1 ? "one core" : $"{workerCores} cores")} the workers get " +
                  "(they share it, each pinned to it), so the total cannot grow with them: the per-core figures are what compare.** " +
                  "They show what running more worker processes on the same cores costs (each one's runtime, cluster upkeep and threads), not how the farm scales onto more cores.";
            BenchReport.Fragment("scaleout", BenchReport.Command("scaleout", "--seconds", seconds.ToString(CultureInfo.InvariantCulture)),
                $"""
                W gpu-worker processes (the bench's own `cluster-worker`, every thread pinned to one core: worker i to the last cores,
                round-robin, at most all cores but one), seed and edge in the bench's process pinned to the core(s) left; the workers
                can use min(W, cores − 1) cores. {StreamsPerWorker} streams per worker, each a closed loop with 1 frame in flight on the demo clip
                (cycled; a frame enters as the last leaves, so none is dropped, and {StreamsPerWorker} per worker keep it busy while each one's frame is on the wire), {warmUp.TotalSeconds:0} s unmeasured
                (JIT, arenas, shard allocation), then {seconds} s measured. Per worker core is the total divided by the cores the workers can use; CPU-ms
                per frame is each side's processes' CPU time over the frames served in the window; latency is capture to output.

                {caveat}

                {table}
                """);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scaleout: done in {wall.Elapsed.TotalSeconds:F0} s"));
            return 0;
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
            average.Dispose();
            Directory.Delete(identities, recursive: true);
        }
    }

    private static async Task<Round> RoundOf(int workers, List<int> cores, TimeSpan warmUp, TimeSpan window, List<Mat> frames, string identities)
    {
        var workerCores = cores.TakeLast(Math.Min(workers, cores.Count - 1)).ToList();
        var edgeCores = CoreAffinity.Mask(cores.Except(workerCores));
        Console.WriteLine($"{workers} worker(s) on core(s) {string.Join(", ", workerCores)}, seed and edge on core(s) {CoreAffinity.Describe(edgeCores)}");
        CoreAffinity.Pin(edgeCores);
        var settings = NodeSettings.Load();
        var (seedHost, seedSystem) = await BenchCluster.StartNode(settings, Roles.Seed, null);
        using var seedHostScope = seedHost;
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var children = new List<ClusterWorkerProcess>();
        try
        {
            for (var i = 0; i < workers; i++)
            {
                // Launched while this process is on the child's core, as the cluster campaign does: its runtime starts seeing that core only.
                var core = workerCores[i % workerCores.Count];
                CoreAffinity.Pin(CoreAffinity.Mask([core]));
                children.Add(ClusterWorkerProcess.Start(seed, identities, core));
            }
            CoreAffinity.Pin(edgeCores);
            foreach (var child in children) Console.WriteLine($"  worker process {child.Pid} ready: {await child.Ready.WaitAsync(TimeSpan.FromMinutes(2))}");
            var (edgeHost, edge) = await BenchCluster.StartNode(settings, Roles.Edge, seed);
            using var edgeHostScope = edgeHost;
            var registry = edgeHost.Services.GetRequiredService<ActorRegistry>();
            // Shards go only where the plan put face-analysis: until every worker is in it, streams would pile on the first.
            await BenchCluster.Placed(registry.Get<PlacementCoordinatorKey>(), workers, TimeSpan.FromMinutes(1));
            var (detect, swap) = (registry.Get<DetectRegion>(), registry.Get<SwapRegion>());

            var streams = Enumerable.Range(0, workers * StreamsPerWorker).Select(i => new EdgeStreamOptions
            {
                StreamId = $"scale-{workers}-{i}", Swap = new StreamSettings(IdentityIds.Average),
                FramesPerSecond = 0.1, BudgetMs = 10_000, Parallelism = 1, BufferSize = 1,
            }).ToList();
            await Task.WhenAll(streams.Select(o => EdgeStream.Prepare(o, detect, swap, TimeSpan.FromSeconds(30))));
            var measuring = false;
            var clips = streams.Select(_ => new Cycled(frames)).ToList();
            var latencies = streams.Select(_ => new LongHistogram(1, 60_000_000, 3)).ToList();
            var handles = streams.Select((o, i) => BenchCluster.ClosedLoop(edge, o, detect, swap, clips[i], f =>
            {
                if (Volatile.Read(ref measuring)) latencies[i].RecordValue((long)(f.AgeMs * 1000));
            })).ToList();
            long Served() => handles.Sum(h => h.Ledger.Snapshot().Served);

            Console.WriteLine($"  {streams.Count} streams running; warm-up {warmUp.TotalSeconds:0} s");
            await Task.Delay(warmUp);
            using var self = Process.GetCurrentProcess();
            var (served, workerCpu, edgeCpu) = (Served(), children.Select(c => c.Cpu).ToList(), self.TotalProcessorTime);
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref measuring, true);
            while (clock.Elapsed < window)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, (window - clock.Elapsed).TotalSeconds)));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clock.Elapsed.TotalSeconds,5:F1} s: {(Served() - served) / clock.Elapsed.TotalSeconds:F1} fps swapped"));
            }
            Volatile.Write(ref measuring, false);
            var (servedEnd, workerCpuEnd, elapsed) = (Served(), children.Select(c => c.Cpu).ToList(), clock.Elapsed);
            self.Refresh();
            var edgeSpent = self.TotalProcessorTime - edgeCpu;
            var perWorker = workerCpuEnd.Zip(workerCpu, (end, start) => end - start).ToList();
            // Each worker's share: one near its idle upkeep got no stream (placement), which the totals would hide.
            Console.WriteLine($"  worker CPU in the window: {string.Join(", ", perWorker.Select((c, i) => string.Create(CultureInfo.InvariantCulture, $"{children[i].Pid} {c / elapsed * 100:F0} %")))} of a core");

            foreach (var clip in clips) clip.End();
            await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TimeSpan.FromMinutes(1));
            foreach (var stats in handles.Select(h => h.Ledger.Snapshot()).Where(s => s.DroppedTotal > 0 || s.FailMode > 0))
                Console.WriteLine($"  {stats.StreamId}: {stats.FailMode} fail-mode, dropped {string.Join(", ", stats.Dropped.Select(d => $"{d.Key} {d.Value}"))}");
            var latency = new LongHistogram(1, 60_000_000, 3);
            foreach (var l in latencies) latency.Add(l);
            var round = new Round(workers, workerCores.Count, streams.Count, servedEnd - served, elapsed, TimeSpan.FromTicks(perWorker.Sum(c => c.Ticks)), edgeSpent, latency);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {workers} worker(s): {round.Fps:F1} fps swapped, {round.FpsPerCore:F1} per worker core; worker {round.WorkerCpuMs:F1} CPU-ms per frame, seed+edge {round.EdgeCpuMs:F1}; latency p50 {round.P(50):F1} / p99 {round.P(99):F1} ms"));

            // The edge leaves first: no worker loses a peer that still streams to it. The workers together: one by one, each waits
            // out its shards' hand-off (about 10 s here), which measures nothing.
            await edgeHost.StopAsync();
            await Task.WhenAll(children.Select(c => c.Stop(TimeSpan.FromSeconds(30))));
            await seedHost.StopAsync();
            return round;
        }
        finally
        {
            foreach (var child in children) child.Dispose();
        }
    }


    /// <summary>
    /// The clip, cycled until <see cref="End"/>. <see cref="BenchCluster.ClosedLoop"/> feeds frame i while i is under
    /// Count and completes the stream when i reaches it: ending the count ends the stream once its frames in flight are back.
    /// </summary>
    internal sealed class Cycled(IReadOnlyList<Mat> frames) : IReadOnlyList<Mat>
    {
        private volatile bool _ended;
        private volatile int _issued;

        public void End() => _ended = true;

        public int Count => _ended ? _issued : int.MaxValue;

        public Mat this[int index]
        {
            get
            {
                _issued = index + 1;
                return frames[index % frames.Count];
            }
        }

        public IEnumerator<Mat> GetEnumerator() => throw new NotSupportedException("a cycled clip is endless until ended: index it");

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
