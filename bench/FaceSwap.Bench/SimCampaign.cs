using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Simulation;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Placement;
using FaceSwap.Edge;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Consent;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap.Identities;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>sim [--workers W] [--seconds S] [--max-streams N]</c>: the farm on simulated GPUs. W gpu-worker processes (the
/// bench's own <c>sim-worker</c>) run the real node (remoting, serializer, sharding, placement agent, batchers) with
/// <see cref="SimulatedWorker"/> in place of the models, each a simulated RTX 3080 Ti; seed and edge run here, with
/// real edge graphs at 30 fps per stream. Streams are added W at a time until this host saturates (served below 95 % of
/// offered while the simulated devices are not busy); at the largest count it sustains: fps, batching, placement,
/// latency; then a quarter of the workers get SIGKILL at once. First, the cost model is checked: the default pack's
/// models timed on this CPU at batch 1 and 4, fitted, and a simulated worker with that fit run against the real one.
/// </summary>
public static class SimCampaign
{
    public const string WorkerCommand = "sim-worker";
    private const double Sustained = 0.95;
    private const double Fps = 30;
    /// <summary>The stream counts the scale search tries: one at a time while few, then half as many again each step.</summary>
    private static readonly int[] StepCounts = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];

    private sealed record BatcherStats(string Model, long Batches, long Requests, long Expired);
    private sealed record WorkerStats(string Name, double BusyMs, BatcherStats[] Batchers);

    private sealed class Stream(EdgeStreamOptions options, EdgeStreamHandle handle)
    {
        public EdgeStreamOptions Options { get; } = options;
        public EdgeStreamHandle Handle { get; } = handle;
        public readonly LongHistogram Latency = new(1, 60_000_000, 3);
        public readonly List<long> ServedAt = [];
        public volatile bool Measuring;
        public volatile bool Timing;
    }

    private sealed record Step(int Streams, double Offered, double Served, double FailMode, long Dropped, double HostCpu, double OurCpu, double DeviceBusy, LongHistogram Latency)
    {
        public bool Sustained => Served >= SimCampaign.Sustained * Offered;
    }

    /// <summary>The percentile in ms; NaN when nothing was recorded (a window with no swapped frame).</summary>
    private static double P(LongHistogram h, double percentile) => h.TotalCount == 0 ? double.NaN : h.GetValueAtPercentile(percentile) / 1000.0;

    public static int Run(string[] args)
    {
        var (workers, seconds, maxStreams) = (4, 10, 96);
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] == "--workers" && int.TryParse(value, CultureInfo.InvariantCulture, out var w) && w is >= 1 and <= 32) workers = w;
            else if (args[i] == "--seconds" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 2 and <= 600) seconds = s;
            else if (args[i] == "--max-streams" && int.TryParse(value, CultureInfo.InvariantCulture, out var m) && m is >= 1 and <= 512) maxStreams = m;
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the sim campaign takes --workers W (1 to 32), --seconds S (2 to 600) and --max-streams N (1 to 512)");
        }
        return Measure(workers, seconds, maxStreams).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int workers, int seconds, int maxStreams)
    {
        var wall = Stopwatch.StartNew();
        var frames = DemoVideo.Frames(150, 30).ToList();
        try
        {
            var check = await CostCheck(frames, seconds);
            var farm = await Farm(frames, workers, seconds, maxStreams);
            var markdown = check + "\n" + farm;
            Console.WriteLine();
            Console.WriteLine(markdown);
            BenchReport.Fragment("sim", BenchReport.Command("sim", "--workers", workers.ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
                "--max-streams", maxStreams.ToString(CultureInfo.InvariantCulture)), markdown);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sim: done in {wall.Elapsed.TotalSeconds:F0} s"));
            return 0;
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }

    // ---- the cost model against the real CPU provider ----

    /// <summary>fixed + n × per-item through batch 1 and 4.</summary>
    private static SimulatedModel Fit(ModelStore store, string name)
    {
        using var model = ModelSession.Open(store, name, new InferenceOptions(), NullLogger.Instance);
        var (one, four) = (ModelTiming.MeanRunMs(model, 1, runs: 30), ModelTiming.MeanRunMs(model, 4, runs: 30));
        var perItem = Math.Max(0, (four - one) / 3);
        return new SimulatedModel(name, Math.Max(0, one - perItem), perItem, new FileInfo(store.ModelPath(store.Get(name))).Length);
    }

    private static async Task<string> CostCheck(List<Mat> frames, int seconds)
    {
        var (store, average) = BenchCluster.PackAndAverageFace();
        using var _ = average;
        var detector = Fit(store, Detector.ModelName);
        var landmarks = Fit(store, Landmarker.ModelName);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sim: CPU fit: {detector.Name} {detector.FixedMs:F2} + n × {detector.PerItemMs:F2} ms, {landmarks.Name} {landmarks.FixedMs:F2} + n × {landmarks.PerItemMs:F2} ms"));
        var profile = new SimulatedProfile("this host's CPU (fitted)", 8L << 30, detector, null, landmarks, null);
        const int Streams = 4;
        using var real = BenchCluster.Worker(store, average);
        var measuredReal = await ClosedLoop("real CPU worker", Streams, seconds, frames, settings => BenchCluster.StartNode(settings, Roles.Worker, Seed(settings), real));
        // The model against the batches the real worker ran under the cluster's load: each size's mean run (its batcher's
        // pre- and post-processing included) against fixed + n × per item.
        var fits = new Dictionary<string, SimulatedModel> { [detector.Name] = detector, [landmarks.Name] = landmarks };
        var unfitted = real.BatchingStats().Select(b => b.Model).Where(m => !fits.ContainsKey(m)).ToList();
        if (unfitted.Count > 0) throw new InvalidOperationException($"the real worker batched model(s) the cost model has no fit for: {string.Join(", ", unfitted)}");
        var sizes = real.BatchingStats().SelectMany(b => Enumerable.Range(1, b.BatchSizes.Length - 1).Where(n => b.BatchSizes[n] > 0)
            .Select(n => BenchReport.Cells($"{b.Model}", $"{n}", $"{b.BatchSizes[n]}", $"{b.MeanRunMs(n):F2} ms", $"{fits[b.Model].BatchMs(n):F2} ms",
                $"{(fits[b.Model].BatchMs(n) - b.MeanRunMs(n)) / b.MeanRunMs(n) * 100:+0;-0} %"))).ToList();
        using var simulated = new SimulatedWorker(profile, "sim-cpu-fit");
        var measuredSim = await ClosedLoop("simulated (CPU fit)", Streams, seconds, frames, settings => BenchCluster.StartNode(settings, Roles.Worker, Seed(settings), stages: simulated.Stages()));
        var rows = new[] { measuredReal, measuredSim };
        string Error(double sim, double real) => string.Create(CultureInfo.InvariantCulture, $"{(sim - real) / real * 100:+0;-0} %");
        return string.Create(CultureInfo.InvariantCulture, $"""
            **The cost model against the real CPU provider.** The default pack's detector and FaceMesh timed alone on this CPU
            (ONNX Runtime's CPU provider) at batch 1 and 4 and fitted: {detector.Name} {detector.FixedMs:F2} + n × {detector.PerItemMs:F2} ms,
            {landmarks.Name} {landmarks.FixedMs:F2} + n × {landmarks.PerItemMs:F2} ms. Then one worker, {Streams} streams as closed loops (1 frame in flight each,
            {seconds} s), once on the real models and once on a simulated worker with that fit, same seed, edge and frames, in one process:


            """) + BenchReport.Table(["worker", "swapped fps", "latency p50", "latency p99", "worker-swap p50 (edge's view)"],
                rows.Select(r => BenchReport.Cells($"{r.Name}", $"{r.Fps:F1}", $"{r.P50:F1} ms", $"{r.P99:F1} ms", $"{r.WorkerSwap:F1} ms")))
            + string.Create(CultureInfo.InvariantCulture, $"\nSimulated against real: fps {Error(measuredSim.Fps, measuredReal.Fps)}, latency p50 {Error(measuredSim.P50, measuredReal.P50)}, p99 {Error(measuredSim.P99, measuredReal.P99)}. ")
            + "The simulator models the models only: what the real worker does around them on the CPU (FaceMesh crops, the mesh warp, blend and colour transfer) is not in the fit, so the simulated worker is faster by that much; the farm's profile below has the same blind spot for the GPU worker's pre- and post-processing.\n\n"
            + "The cost model against each batch the real worker ran in that loop (the batcher's run: the model with its pre- and post-processing, under the cluster's load):\n\n"
            + BenchReport.Table(["model", "batch size", "batches", "measured mean run", "cost model", "model's error"], sizes);
    }

    private static string Seed(NodeSettings settings) => settings.Seeds.Single();

    private sealed record LoopResult(string Name, double Fps, double P50, double P99, double WorkerSwap);

    /// <summary>Seed, the worker <paramref name="startWorker"/> starts (given settings whose only seed is the seed), and an edge; <paramref name="streams"/> closed loops.</summary>
    private static async Task<LoopResult> ClosedLoop(string name, int streams, int seconds, List<Mat> frames,
        Func<NodeSettings, Task<(Microsoft.Extensions.Hosting.IHost Host, ActorSystem System)>> startWorker)
    {
        var settings = NodeSettings.Load();
        var (seedHost, seedSystem) = await BenchCluster.StartNode(settings, Roles.Seed, null);
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var (workerHost, _) = await startWorker(settings with { Seeds = [seed] });
        var (edgeHost, edge) = await BenchCluster.StartNode(settings, Roles.Edge, seed);
        try
        {
            var registry = edgeHost.Services.GetRequiredService<ActorRegistry>();
            await BenchCluster.Placed(registry.Get<PlacementCoordinatorKey>(), 1, TimeSpan.FromMinutes(1));
            var (detect, swap) = (registry.Get<DetectRegion>(), registry.Get<SwapRegion>());
            var options = Enumerable.Range(0, streams).Select(i => new EdgeStreamOptions
            {
                StreamId = $"check-{i}", Swap = new StreamSettings(IdentityIds.Average), FramesPerSecond = 0.1, BudgetMs = 10_000, Parallelism = 1, BufferSize = 1,
            }).ToList();
            await Task.WhenAll(options.Select(o => EdgeStream.Prepare(o, detect, swap, TimeSpan.FromSeconds(30))));
            var measuring = false;
            var latency = new LongHistogram(1, 60_000_000, 3);
            var clips = options.Select(_ => new ScaleOutCampaign.Cycled(frames)).ToList();
            var handles = options.Select((o, i) => BenchCluster.ClosedLoop(edge, o, detect, swap, clips[i], f =>
            {
                if (!Volatile.Read(ref measuring) || f.FailMode) return;
                lock (latency) latency.RecordValue((long)(f.AgeMs * 1000));
            })).ToList();
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(3, seconds)));
            long Served() => handles.Sum(h => h.Ledger.Snapshot().Served);
            var served = Served();
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref measuring, true);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            Volatile.Write(ref measuring, false);
            var fps = (Served() - served) / clock.Elapsed.TotalSeconds;
            foreach (var clip in clips) clip.End();
            await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TimeSpan.FromMinutes(1));
            var workerSwap = handles.Select(h => h.Ledger.Snapshot().Latency.GetValueOrDefault(EdgeStages.WorkerSwap)?.P50 ?? 0).Average();
            var result = new LoopResult(name, fps, P(latency, 50), P(latency, 99), workerSwap);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sim: {name}: {result.Fps:F1} fps, p50 {result.P50:F1} / p99 {result.P99:F1} ms, worker-swap p50 {result.WorkerSwap:F1} ms"));
            return result;
        }
        finally
        {
            await edgeHost.StopAsync();
            await workerHost.StopAsync();
            await seedHost.StopAsync();
            edgeHost.Dispose();
            workerHost.Dispose();
            seedHost.Dispose();
        }
    }

    // ---- the farm ----

    private static async Task<string> Farm(List<Mat> frames, int workerCount, int seconds, int maxStreams)
    {
        var profile = SimulatedProfile.Rtx3080Ti;
        var batching = NodeSettings.Load().Batching;
        var settings = NodeSettings.Load();
        var (seedHost, seedSystem) = await BenchCluster.StartNode(settings, Roles.Seed, null);
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var workers = new List<ClusterWorkerProcess>();
        var streams = new List<Stream>();
        try
        {
            for (var i = 0; i < workerCount; i++) workers.Add(ClusterWorkerProcess.Start(WorkerCommand, ["--seed", seed, "--name", $"sim-gpu-{i}"]));
            foreach (var w in workers) Console.WriteLine($"  sim worker {w.Pid} ready: {await w.Ready.WaitAsync(TimeSpan.FromMinutes(3))}");
            var (edgeHost, edge) = await BenchCluster.StartNode(settings, Roles.Edge, seed);
            using var edgeScope = edgeHost;
            var registry = edgeHost.Services.GetRequiredService<ActorRegistry>();
            var coordinator = registry.Get<PlacementCoordinatorKey>();
            await BenchCluster.Placed(coordinator, workerCount, TimeSpan.FromMinutes(1));
            var plan = await coordinator.Ask<PlacementPlan>(new GetPlan(), TimeSpan.FromSeconds(10));
            var (detect, swap) = (registry.Get<DetectRegion>(), registry.Get<SwapRegion>());

            async Task Add(int count)
            {
                var added = Enumerable.Range(streams.Count, count).Select(i => new EdgeStreamOptions { StreamId = $"sim-{i}", Swap = new StreamSettings(IdentityIds.Average), FramesPerSecond = Fps }).ToList();
                await Task.WhenAll(added.Select(o => EdgeStream.Prepare(o, detect, swap, TimeSpan.FromSeconds(30))));
                foreach (var o in added)
                {
                    Stream? stream = null;
                    var offset = streams.Count * 7 % frames.Count; // streams out of step, as cameras are
                    var source = Source.Cycle(() => frames.Skip(offset).Concat(frames.Take(offset)).GetEnumerator())
                        .Throttle((int)Fps, TimeSpan.FromSeconds(1), 1, ThrottleMode.Shaping).Select(f => f.Clone());
                    var handle = EdgeStream.Run(edge, source, o, detect, swap, Sink.ForEach<EmittedFrame>(f =>
                    {
                        var s = stream!;
                        if (!f.FailMode)
                        {
                            if (s.Measuring) lock (s.Latency) s.Latency.RecordValue((long)(f.AgeMs * 1000));
                            if (s.Timing) lock (s.ServedAt) s.ServedAt.Add(Stopwatch.GetTimestamp());
                        }
                        f.Dispose();
                    }), marks: null);
                    stream = new Stream(o, handle);
                    streams.Add(stream);
                }
            }

            async Task<(Step Step, IReadOnlyList<WorkerStats> Before, IReadOnlyList<WorkerStats> After, IReadOnlyList<StreamStats> StatsBefore, IReadOnlyList<StreamStats> StatsAfter, TimeSpan Window)> Window(IReadOnlyList<Stream> live, IReadOnlyList<ClusterWorkerProcess> alive)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(3, seconds)));
                var statsBefore = live.Select(s => s.Handle.Ledger.Snapshot()).ToList();
                var before = await Stats(alive);
                var (hostBefore, ourBefore) = (HostCpu(), OurCpu(alive));
                foreach (var s in live)
                {
                    lock (s.Latency) s.Latency.Reset();
                    s.Measuring = true;
                }
                var clock = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                foreach (var s in live) s.Measuring = false;
                var window = clock.Elapsed;
                var statsAfter = live.Select(s => s.Handle.Ledger.Snapshot()).ToList();
                var after = await Stats(alive);
                var (hostAfter, ourAfter) = (HostCpu(), OurCpu(alive));
                var latency = new LongHistogram(1, 60_000_000, 3);
                foreach (var s in live) lock (s.Latency) latency.Add(s.Latency);
                double Sum(Func<StreamStats, long> of) => statsAfter.Zip(statsBefore, (a, b) => of(a) - of(b)).Sum() / window.TotalSeconds;
                var busy = after.Zip(before, (a, b) => a.BusyMs - b.BusyMs).Sum() / alive.Count / window.TotalMilliseconds;
                var step = new Step(live.Count, Sum(s => s.Offered), Sum(s => s.Served), Sum(s => s.FailMode), (long)(Sum(s => s.DroppedTotal) * window.TotalSeconds),
                    (hostAfter.Busy - hostBefore.Busy) / (hostAfter.Total - hostBefore.Total), (ourAfter - ourBefore) / window / Environment.ProcessorCount, busy, latency);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {step.Streams} streams: offered {step.Offered:F0} fps, swapped {step.Served:F0}, fail-mode {step.FailMode:F0}, dropped {step.Dropped}; host CPU {step.HostCpu:P0} (ours {step.OurCpu:P0}), simulated GPUs busy {step.DeviceBusy:P0}; p50 {P(latency, 50):F1} / p99 {P(latency, 99):F1} ms"));
                return (step, before, after, statsBefore, statsAfter, window);
            }

            // Scale search: W streams more each step, until the host no longer serves what is offered.
            var steps = new List<Step>();
            var sustained = 0;
            foreach (var count in StepCounts.Where(c => c <= maxStreams))
            {
                await Add(count - streams.Count);
                var (step, _, _, _, _, _) = await Window(streams, workers);
                steps.Add(step);
                if (!step.Sustained) break;
                sustained = step.Streams;
            }
            var noneSustained = sustained == 0;
            if (noneSustained) sustained = streams.Count; // even the first step saturated: its figures stand, said so
            // Back to the largest sustained count: the streams beyond it stop.
            foreach (var s in streams.Skip(sustained)) s.Handle.Capture.Shutdown();
            var live = streams.Take(sustained).ToList();
            Console.WriteLine($"sim: largest sustained count {sustained}; measuring it again");
            var (at, statsBefore2, statsAfter2, streamBefore, streamAfter, window) = await Window(live, workers);

            // SIGKILL a quarter of the workers at once; every stream is timed until it is swapped again.
            var killed = workers.Take(Math.Max(1, workerCount / 4)).ToList();
            foreach (var s in live) s.Timing = true;
            var failBefore = live.Sum(s => s.Handle.Ledger.Snapshot().FailMode);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var killedAt = Stopwatch.GetTimestamp();
            foreach (var w in killed) w.Kill();
            Console.WriteLine($"sim: killed {killed.Count} of {workerCount} workers (SIGKILL): {string.Join(", ", killed.Select(w => w.Pid))}");
            // Failover takes 10–15 s: a full run watches 25 s; a short run (CI's check that the campaign runs) 12 s.
            var observe = TimeSpan.FromSeconds(seconds >= 10 ? Math.Max(25, seconds * 2) : 12);
            await Task.Delay(observe);
            foreach (var s in live) s.Timing = false;
            var afterKill = live.Select(s => s.Handle.Ledger.Snapshot()).ToList();
            var failDuring = afterKill.Sum(s => s.FailMode) - failBefore;
            // Per stream: the first swapped frame after its longest swap gap that began after the kill (or spanned it).
            var recovered = live.Select(s =>
            {
                List<long> served;
                lock (s.ServedAt) served = [.. s.ServedAt];
                var (gap, end) = (0.0, killedAt);
                for (var i = 1; i < served.Count; i++)
                {
                    if (served[i] < killedAt) continue;
                    var g = Stopwatch.GetElapsedTime(Math.Max(served[i - 1], killedAt), served[i]).TotalMilliseconds;
                    if (g > gap) (gap, end) = (g, served[i]);
                }
                var lastServed = served.Count > 0 ? served[^1] : 0;
                var stalled = Stopwatch.GetElapsedTime(lastServed).TotalSeconds > 1;
                return (Stream: s.Options.StreamId, Hit: gap > 500, RecoveredS: stalled ? double.NaN : Stopwatch.GetElapsedTime(killedAt, end).TotalSeconds);
            }).ToList();
            var hit = recovered.Where(r => r.Hit).ToList();
            var allBack = recovered.Any(r => double.IsNaN(r.RecoveredS)) ? double.NaN : hit.Count == 0 ? 0 : hit.Max(r => r.RecoveredS);
            var frozen = afterKill.Where(s => s.MaxOutputGapMs > 1000).Select(s => $"{s.StreamId} ({s.MaxOutputGapMs:F0} ms)").ToList();
            var maxGap = afterKill.Max(s => s.MaxOutputGapMs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sim: {hit.Count} streams lost their worker; all swapped again after {allBack:F1} s; {failDuring} fail-mode frames; longest output gap {maxGap:F0} ms"));

            foreach (var s in live) s.Handle.Capture.Shutdown();
            await Task.WhenAll(streams.Select(s => s.Handle.Completion)).WaitAsync(TimeSpan.FromMinutes(1));
            await edgeHost.StopAsync();
            await Task.WhenAll(workers.Except(killed).Select(w => w.Stop(TimeSpan.FromSeconds(30))));

            return Report(profile, batching, workerCount, seconds, steps, at, sustained, noneSustained, statsBefore2, statsAfter2, streamBefore, streamAfter, window, plan,
                killed.Count, hit.Count, allBack, failDuring, frozen, maxGap);
        }
        finally
        {
            foreach (var w in workers) w.Dispose();
            await seedHost.StopAsync();
            seedHost.Dispose();
        }
    }

    private static string Report(SimulatedProfile profile, BatchingOptions batching, int workerCount, int seconds, List<Step> steps, Step at, int sustained, bool noneSustained,
        IReadOnlyList<WorkerStats> before, IReadOnlyList<WorkerStats> after, IReadOnlyList<StreamStats> streamBefore, IReadOnlyList<StreamStats> streamAfter, TimeSpan window,
        PlacementPlan plan, int killed, int hit, double allBack, long failDuring, List<string> frozen, double maxGap)
    {
        var inv = CultureInfo.InvariantCulture;
        // Which worker served each stream in the window: the one that answered it most.
        var perWorker = after.ToDictionary(w => w.Name, _ => 0);
        foreach (var (a, b) in streamAfter.Zip(streamBefore))
        {
            var top = a.AnsweredBy.Select(kv => (kv.Key, N: kv.Value - b.AnsweredBy.GetValueOrDefault(kv.Key))).MaxBy(x => x.N);
            if (top.Key is not null && perWorker.ContainsKey(top.Key)) perWorker[top.Key]++;
        }
        var counts = perWorker.Values.Select(v => (double)v).ToList();
        var mean = counts.Average();
        var stddev = Math.Sqrt(counts.Sum(c => (c - mean) * (c - mean)) / counts.Count);
        // Batching per model: mean batch in the window against the ideal for its arrival rate (requests per worker-second λ,
        // the model's fixed f and per-item p, the queue delay d): b = λ(d + f) / (1 − λp), within 1 … max batch.
        var rows = profile.Models.Where(m => m != profile.Enhancer).Select(m =>
        {
            var deltas = after.Zip(before, (a, b) => (A: a.Batchers.Single(x => x.Model == m.Name), B: b.Batchers.Single(x => x.Model == m.Name)))
                .Select(x => (Batches: x.A.Batches - x.B.Batches, Requests: x.A.Requests - x.B.Requests, Expired: x.A.Expired - x.B.Expired)).ToList();
            var (batches, requests, expired) = (deltas.Sum(d => d.Batches), deltas.Sum(d => d.Requests), deltas.Sum(d => d.Expired));
            var ideal = deltas.Where(d => d.Requests > 0).Sum(d =>
            {
                var lambda = d.Requests / window.TotalMilliseconds;
                var b = lambda * m.PerItemMs >= 1 ? batching.MaxBatch : lambda * (batching.MaxQueueDelay.TotalMilliseconds + m.FixedMs) / (1 - lambda * m.PerItemMs);
                return Math.Clamp(b, 1, batching.MaxBatch) * d.Requests;
            }) / Math.Max(1, requests);
            var meanBatch = batches == 0 ? 0 : (double)requests / batches;
            return BenchReport.Cells($"{m.Name}", $"{requests / window.TotalSeconds / workerCount:F1}", $"{meanBatch:F2}", $"{ideal:F2}", $"{(ideal > 0 ? meanBatch / ideal : 0):P0}", $"{expired}");
        }).ToList();

        var costs = BenchReport.Table(["model (simulated)", "fixed per batch", "per item", "batch 1", "batch 8", "device memory"],
            profile.Models.Select(m => BenchReport.Cells($"{m.Name}", $"{m.FixedMs:F2} ms", $"{m.PerItemMs:F2} ms", $"{m.BatchMs(1):F1} ms", $"{m.BatchMs(8):F1} ms", $"{m.DeviceBytes / 1048576.0:F0} MiB")));
        var search = BenchReport.Table(["streams", "offered fps", "swapped fps", "fail-mode fps", "dropped", "host CPU (all processes)", "ours (bench + workers)", "simulated GPUs busy", "p50", "p99", "sustained"],
            steps.Select(s => BenchReport.Cells($"{s.Streams}", $"{s.Offered:F0}", $"{s.Served:F0}", $"{s.FailMode:F0}", $"{s.Dropped}", $"{s.HostCpu:P0}", $"{s.OurCpu:P0}", $"{s.DeviceBusy:P0}",
                $"{P(s.Latency, 50):F1} ms", $"{P(s.Latency, 99):F1} ms", $"{(s.Sustained ? "yes" : "no")}")));
        var placed = plan.Models.FirstOrDefault(p => p.Model == WorkerModels.FaceAnalysis);
        var scale = BenchReport.Table([noneSustained ? "at the first step (none was sustained)" : "at the largest sustained count", "measured"],
        [
            BenchReport.Cells($"streams (30 fps each) over {workerCount} simulated workers", noneSustained ? $"{sustained}, not sustained: the smallest step already saturated this host" : (FormattableString)$"{sustained}"),
            BenchReport.Cells($"streams per worker (min / max / stddev)", $"{counts.Min():F0} / {counts.Max():F0} / {stddev:F2}"),
            BenchReport.Cells($"swapped fps total / per worker", $"{at.Served:F1} / {at.Served / workerCount:F1} (offered {at.Offered:F1})"),
            BenchReport.Cells($"fail-mode fps, frames dropped in {seconds} s", $"{at.FailMode:F1}, {at.Dropped}"),
            BenchReport.Cells($"end-to-end latency of swapped frames p50 / p99", $"{P(at.Latency, 50):F1} / {P(at.Latency, 99):F1} ms"),
            BenchReport.Cells($"host CPU (all processes) / ours", $"{at.HostCpu:P0} / {at.OurCpu:P0}"),
            BenchReport.Cells($"simulated GPUs busy (mean)", $"{at.DeviceBusy:P0}"),
            BenchReport.Cells($"streams at 30 fps one simulated GPU would carry (its busy share at this load, taken to 100 %)",
                at.DeviceBusy > 0 ? $"{(double)sustained / workerCount / at.DeviceBusy:F1}" : (FormattableString)$"n/a"),
            BenchReport.Cells($"placement: face-analysis unit on", $"{placed?.Nodes.Length ?? 0} of {workerCount} workers ({profile.DeviceBytes / 1048576.0:F0} MiB of {profile.MemoryBytes / 1048576.0:F0} MiB each)"),
        ]);
        var kill = BenchReport.Table(["SIGKILL of a quarter of the workers", "measured"],
        [
            BenchReport.Cells($"workers killed at once", $"{killed} of {workerCount}"),
            BenchReport.Cells($"streams that lost their worker (a swap gap over 0.5 s)", $"{hit} of {sustained}"),
            BenchReport.Cells($"time until every stream is swapped again", double.IsNaN(allBack) ? $"not within the observation: a stream stayed unswapped" : (FormattableString)$"{allBack:F1} s"),
            BenchReport.Cells($"fail-mode frames meanwhile (all streams)", $"{failDuring}"),
            BenchReport.Cells($"streams that froze (no output for over 1 s)", $"{(frozen.Count == 0 ? "none" : string.Join(", ", frozen))} (longest output gap {maxGap:F0} ms)"),
        ]);
        return string.Create(inv, $"""
            **The farm.** {workerCount} gpu-worker processes (the bench's own `{WorkerCommand}`: the real node, its sharding, placement agent and batchers
            (max batch {batching.MaxBatch}, max queue delay {batching.MaxQueueDelay.TotalMilliseconds:0.##} ms), the models replaced by `SimulatedWorker`, each a simulated {profile.Device} with
            {profile.MemoryBytes / 1073741824.0:F0} GiB reported to the placement coordinator), seed and edge in the bench's process; every stream a real edge graph
            on the 640×480 demo clip at 30 fps (budget 150 ms, 2 in flight, keep-latest buffer, blur fail mode), re-detecting every 5 frames; no enhancer (28 ms a face
            keeps GFPGAN off live streams: {1000 / profile.Enhancer!.BatchMs(1):F0} faces/s per device at batch 1). The cost model (batch of n = fixed + n × per item, waited, the device held):

            {costs}
            Streams are added in steps ({string.Join(", ", StepCounts.Take(7))}, …; {Math.Min(3, seconds)} s to settle, {seconds} s measured) until fewer than {Sustained:P0} of the offered frames are swapped:

            {search}
            {scale}
            Batching in that window, per model (the ideal is the batch a batcher that always waits out the queue delay would form at the measured arrival rate λ per worker: λ(d + f) / (1 − λp), within 1 … {batching.MaxBatch}):

            {BenchReport.Table(["model", "requests/s per worker", "mean batch", "ideal", "mean ÷ ideal", "expired in the queue"], rows)}
            {kill}
            """);
    }

    private static (double Busy, double Total) HostCpu()
    {
        var parts = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(double.Parse).ToArray();
        var idle = parts[3] + parts[4];
        return (parts.Sum() - idle, parts.Sum());
    }

    private static TimeSpan OurCpu(IReadOnlyList<ClusterWorkerProcess> workers)
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime + TimeSpan.FromTicks(workers.Sum(w => w.Cpu.Ticks));
    }

    private static async Task<IReadOnlyList<WorkerStats>> Stats(IReadOnlyList<ClusterWorkerProcess> workers) =>
        await Task.WhenAll(workers.Select(async w => JsonSerializer.Deserialize<WorkerStats>(await w.Ask("stats", TimeSpan.FromSeconds(10)))
            ?? throw new InvalidOperationException($"worker {w.Pid} answered 'stats' with nothing")));


    /// <summary>The child's side: <c>sim-worker --seed ADDRESS --name NAME</c>, a gpu-worker node on a simulated RTX 3080 Ti until "stop" or its stdin closes.</summary>
    public static int RunChild(string[] args)
    {
        string? seed = null, name = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{WorkerCommand}: {args[i]} needs a value");
            switch (args[i])
            {
                case "--seed": seed = value; break;
                case "--name": name = value; break;
                default: throw new ArgumentException($"{WorkerCommand}: unknown argument '{args[i]}' (it takes --seed and --name; the sim campaign starts it)");
            }
        }
        if (seed is null || name is null) throw new ArgumentException($"{WorkerCommand} needs --seed and --name (the sim campaign starts it)");
        return Child(seed, name).GetAwaiter().GetResult();
    }

    private static async Task<int> Child(string seed, string name)
    {
        var settings = NodeSettings.Load();
        using var worker = new SimulatedWorker(SimulatedProfile.Rtx3080Ti, name, settings.Batching);
        var (host, system) = await BenchCluster.StartNode(settings, Roles.Worker, seed, stages: worker.Stages());
        using var started = host;
        Console.WriteLine($"ready {Akka.Cluster.Cluster.Get(system).SelfAddress} as {name} (pid {Environment.ProcessId})");
        while (await Console.In.ReadLineAsync() is { } line && line.Trim() != "stop")
        {
            if (line.Trim() == "stats")
            {
                var stats = new WorkerStats(name, worker.DeviceBusy.TotalMilliseconds,
                    [.. worker.BatchingStats().Select(b => new BatcherStats(b.Model, b.Batches, b.Requests, b.Expired))]);
                Console.WriteLine("stats " + JsonSerializer.Serialize(stats));
            }
            else if (line.Trim().Length > 0) Console.Error.WriteLine($"{WorkerCommand}: unknown command '{line}' (only 'stats' and 'stop'; closing stdin stops it too)");
        }
        await host.StopAsync();
        return 0;
    }
}
