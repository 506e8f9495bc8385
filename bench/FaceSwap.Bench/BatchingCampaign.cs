using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using HdrHistogram;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>dotnet run --project bench/FaceSwap.Bench -c Release -- batching [--frames N] [--streams S]</c>: what batching
/// across streams does on one worker. First FaceMesh alone at batch 1, 2, 4 and 8 (what a batch buys this execution
/// provider per face); then S streams of S people (the largest face of each sample photo, each on its own stretch
/// of the demo clip) through a seed, a worker and an edge on loopback TCP, each stream a closed loop (a frame
/// enters as one leaves), once with batching off (max batch 1) and once with the shipped settings, same frames.
/// </summary>
public static class BatchingCampaign
{
    private sealed record Measured(string Name, int Frames, TimeSpan Wall, TimeSpan Cpu, LongHistogram Latency, IReadOnlyList<BatchingStats> Batching, long Dropped)
    {
        public double Fps => Frames / Wall.TotalSeconds;
        public double P(double percentile) => Latency.GetValueAtPercentile(percentile) / 1000.0;
    }

    /// <summary>The streams' sources by identity id, without the consent registry: the bench's own photo faces.</summary>
    private sealed class PhotoSources(IReadOnlyDictionary<string, SourceFace> faces) : ISourceFaces
    {
        public SourceLease Open(string identityId) => faces.TryGetValue(identityId, out var face)
            ? new(new SourceFace(face.Texture.Clone(), [.. face.Mesh]), CancellationToken.None)
            : throw new KeyNotFoundException($"no bench identity '{identityId}'");
    }

    public static int Run(string[] args)
    {
        var (frames, streams) = (120, 4);
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : -1;
            switch (args[i])
            {
                case "--frames" when value is >= 10 and <= 10_000: frames = value; break;
                case "--streams" when value is >= 1 and <= 6: streams = value; break;
                default: throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the batching campaign takes --frames N (10 to 10000) and --streams S (1 to 6, one per sample photo)");
            }
        }
        return Measure(frames, streams).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int count, int streamCount)
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        Console.WriteLine($"batching: {streamCount} streams x {count} frames 640x480, {Environment.ProcessorCount} cores");
        ModelAlone(store);

        var faces = new Dictionary<string, SourceFace>();
        using (var photos = FaceAnalyzer.Open(store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance))
            for (var n = 1; n <= streamCount; n++)
            {
                using var photo = ImageFile.ReadBgr(Path.Combine(RepositoryPaths.SamplePhotos, $"sample{n}.jpg"));
                var face = photos.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Box.Width) ?? throw new InvalidOperationException($"sample{n}.jpg: no face");
                faces[$"sample-{n}"] = SwapEvaluation.SourceFrom(photo, face);
            }
        const int Offset = 40; // each stream its own stretch of the clip
        var clip = DemoVideo.Frames(count + (streamCount - 1) * Offset, 30).ToList();
        var streams = faces.Keys.Select((id, k) => (Id: id, Frames: clip.Skip(k * Offset).Take(count).ToList())).ToList();

        var runs = new List<Measured>();
        foreach (var (name, options) in new[] { ("batching off (max batch 1)", BatchingOptions.Off), ("batching on (max batch 8, delay 2 ms)", new BatchingOptions()) })
        {
            runs.Add(await Through(name, store, new PhotoSources(faces), options, streams));
            Console.WriteLine($"  {name} done: {runs[^1].Fps:F1} fps");
        }

        var markdown = BenchReport.Table(["mode", "frames per second (all streams)", "latency p50", "latency p99", "CPU-ms per frame", "FaceMesh mean batch", "held past the delay", "expired"],
                runs.Select(r =>
                {
                    var mesh = r.Batching.Single(b => b.Model == Landmarker.ModelName);
                    return BenchReport.Cells($"{r.Name}", $"{r.Fps:F1}", $"{r.P(50):F1} ms", $"{r.P(99):F1} ms", $"{r.Cpu.TotalMilliseconds / r.Frames:F1}", $"{mesh.MeanBatch:F2}",
                        $"{mesh.HeldLate} of {mesh.Requests} (max {mesh.MaxHeldMs:F1} ms)", $"{mesh.Expired}");
                }), "lrrrrrrr")
            + "\n" + string.Join("\n", runs.SelectMany(r => r.Batching.Select(b =>
                $"- {r.Name}: {b}; sizes {string.Join(" ", b.BatchSizes.Select((n, size) => (n, size)).Where(x => x.n > 0).Select(x => $"{x.size}:{x.n}"))}")))
            + string.Create(CultureInfo.InvariantCulture, $"\n- throughput on ÷ off: {runs[1].Fps / runs[0].Fps:F2}");
        Console.WriteLine();
        Console.WriteLine(markdown);
        BenchReport.Fragment("batching", BenchReport.Command("batching", "--frames", count.ToString(CultureInfo.InvariantCulture), "--streams", streamCount.ToString(CultureInfo.InvariantCulture)), markdown);
        foreach (var f in clip) f.Dispose();
        foreach (var f in faces.Values) f.Dispose();
        return 0;
    }

    /// <summary>FaceMesh alone on this provider: time per run and per face at each batch size.</summary>
    private static void ModelAlone(ModelStore store)
    {
        using var model = ModelSession.Open(store, Landmarker.ModelName, new InferenceOptions(), NullLogger.Instance);
        Console.WriteLine("  FaceMesh alone:");
        foreach (var batch in new[] { 1, 2, 4, 8 })
        {
            var perRun = ModelTiming.MeanRunMs(model, batch, runs: 40);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    batch {batch}: {perRun:F2} ms per run, {perRun / batch:F2} ms per face"));
        }
    }

    private static async Task<Measured> Through(string name, ModelStore store, ISourceFaces sources, BatchingOptions batching, List<(string Id, List<Mat> Frames)> streams)
    {
        using var worker = BenchCluster.Worker(store, sources, batching);
        var cluster = await BenchCluster.Start(worker);
        var (edge, detect, swap) = (cluster.Edge, cluster.Detect, cluster.Swap);

        var options = streams.Select((s, k) => new EdgeStreamOptions
        {
            StreamId = $"batching-{k}", Swap = new StreamSettings(s.Id), FramesPerSecond = 0.1, BudgetMs = 10_000, Parallelism = 1, BufferSize = 1,
        }).ToList();
        foreach (var o in options) await EdgeStream.Prepare(o, detect, swap, TimeSpan.FromSeconds(30));
        var before = worker.BatchingStats();
        var latency = new LongHistogram(1, 60_000_000, 3);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var handles = streams.Select((s, k) => BenchCluster.ClosedLoop(edge, options[k], detect, swap, s.Frames, f =>
        {
            lock (latency) latency.RecordValue((long)(f.AgeMs * 1000));
        })).ToList();
        await Task.WhenAll(handles.Select(h => h.Completion));
        self.Refresh();
        var elapsed = wall.Elapsed;
        var served = handles.Sum(h => h.Ledger.Snapshot().Served);
        var dropped = handles.Sum(h => h.Ledger.Snapshot().DroppedTotal);
        var after = worker.BatchingStats();
        await cluster.DisposeAsync();
        return new Measured(name, (int)served, elapsed, self.TotalProcessorTime - cpu, latency, [.. after.Select((a, i) => Since(before[i], a))], dropped);
    }

    /// <summary>The books of the measured frames only: the entities' first frames (prepared before) are left out.</summary>
    private static BatchingStats Since(BatchingStats before, BatchingStats after) => after with
    {
        Batches = after.Batches - before.Batches,
        Requests = after.Requests - before.Requests,
        Expired = after.Expired - before.Expired,
        Failed = after.Failed - before.Failed,
        BatchSizes = [.. after.BatchSizes.Select((n, i) => n - before.BatchSizes[i])],
        HeldLate = after.HeldLate - before.HeldLate,
    };
}
