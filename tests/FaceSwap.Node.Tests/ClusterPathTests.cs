using System.Collections.Concurrent;
using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Swap;
using FaceSwap.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>A stream through a real three-node cluster (seed, edge, gpu-worker) on loopback TCP.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterPathTests(ClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private ThreeNodes _cluster = null!;
    private TestNode Edge => _cluster.Edge;

    public async Task InitializeAsync()
    {
        _cluster = await ThreeNodes.Start(fixture);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Frames_come_back_swapped_and_equal_to_the_in_process_engine_within_JPEG_tolerance()
    {
        const int Count = 30;
        var frames = DemoVideo.Frames(Count, 30).ToList();
        try
        {
            // In process: the same engine, on the full frames.
            using var analyzer = fixture.OpenAnalyzer();
            var engine = new StreamSwapEngine(analyzer, fixture.Average, new StreamEngineOptions { DetectEvery = 5 });
            var expected = frames.Select(f =>
            {
                var copy = f.Clone();
                engine.Process(copy);
                return copy;
            }).ToList();

            // Through the cluster: nothing may drop or fall back, so the budget is generous and the buffer holds every frame.
            var options = new EdgeStreamOptions
            {
                StreamId = "equal", Swap = new StreamSettings(ClusterFixture.Identity, DetectEvery: 5),
                FramesPerSecond = 0.2, BudgetMs = 10_000, Parallelism = 1, BufferSize = Count,
            };
            var received = new ConcurrentDictionary<long, EmittedFrame>();
            var handle = EdgeStream.Run(Edge.System, Source.From(frames.Select(f => f.Clone()).ToList()), options, Edge.Detect, Edge.Swap,
                Sink.ForEach<EmittedFrame>(f => received[f.Seq] = f), marks: null);
            await handle.Completion.WaitAsync(TimeSpan.FromMinutes(2));
            var stats = handle.Ledger.Snapshot();
            output.WriteLine($"{stats.Served} served, {stats.FailMode} fail-mode, dropped {string.Join(", ", stats.Dropped)}");
            Assert.Equal(Count, stats.Served);

            // The tolerance: what a JPEG round trip at the stream's quality costs the same frames.
            var jpeg = frames.Select(f =>
            {
                using var decoded = Cv2.ImDecode(ImageCodec.EncodeJpeg(f, options.JpegQuality), ImreadModes.Color);
                return Cv2.PSNR(f, decoded);
            }).Min();
            for (var i = 0; i < Count; i++)
            {
                using var got = received[i].Image;
                // Where the in-process engine changed the frame: the swapped face.
                using var face = ChangedMask(frames[i], expected[i]);
                var faceArea = Cv2.CountNonZero(face);
                var psnr = Cv2.PSNR(expected[i], got);
                var offFace = MeanAbsDiff(expected[i], got, face);
                var swapDepth = MeanAbsDiff(frames[i], expected[i], face);
                output.WriteLine($"frame {i}: cluster vs in-process {psnr:F1} dB, {offFace:F2} grey levels on the face ({faceArea} px) where the swap changed it by {swapDepth:F1}");
                Assert.True(faceArea > 2000, $"frame {i}: the in-process engine swapped nothing ({faceArea} px changed)");
                Assert.True(psnr >= jpeg - 3, $"frame {i}: cluster output is {psnr:F1} dB from the in-process output; a JPEG round trip alone is {jpeg:F1} dB");
                Assert.True(offFace < swapDepth / 5, $"frame {i}: on the face the cluster output is {offFace:F2} from the in-process swap, which is {swapDepth:F2} from the input");
            }
            foreach (var e in expected) e.Dispose();
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }

    [Fact]
    public async Task A_corrupt_region_or_frame_gets_a_clear_refusal_and_the_entity_goes_on_serving()
    {
        using var still = FaceSwap.Swap.Evaluation.StillFrames.Astronaut640x480();
        var settings = new StreamSettings(ClusterFixture.Identity);
        var timeout = TimeSpan.FromSeconds(30);
        var garbage = new EncodedImage(EncodedImage.Jpeg, 64, 64, [0xFF, 0xD8, 1, 2, 3, 4, 5]);

        var detectRefusal = await Edge.Detect.Ask<object>(new FaceSwap.Contracts.Stages.DetectFrame("corrupt", 0, 5000, garbage, 1), timeout);
        var failed = Assert.IsType<FaceSwap.Contracts.Stages.StageFailed>(detectRefusal);
        Assert.Contains("not a JPEG or PNG image", failed.Error);

        var swapRefusal = await Edge.Swap.Ask<object>(new FaceSwap.Contracts.Stages.SwapFrame("corrupt", 1, 5000, settings, 640, 480, [new ImageCrop(10, 10, garbage)], null), timeout);
        Assert.Contains("not a JPEG or PNG image", Assert.IsType<FaceSwap.Contracts.Stages.StageFailed>(swapRefusal).Error);
        var outside = new ImageCrop(600, 450, WireImages.Jpeg(still[new Rect(0, 0, 64, 64)], 90));
        var placement = await Edge.Swap.Ask<object>(new FaceSwap.Contracts.Stages.SwapFrame("corrupt", 2, 5000, settings, 640, 480, [outside], null), timeout);
        Assert.Contains("outside the 640x480 frame", Assert.IsType<FaceSwap.Contracts.Stages.StageFailed>(placement).Error);

        // The same entities then serve a good frame.
        var found = Assert.IsType<FaceSwap.Contracts.Stages.FacesDetected>(
            await Edge.Detect.Ask<object>(new FaceSwap.Contracts.Stages.DetectFrame("corrupt", 3, 5000, WireImages.Jpeg(still, 90), 1), timeout));
        var face = Assert.Single(found.Faces);
        var region = FaceRegions.Of([], [face], 640, 480).Single();
        var swapped = Assert.IsType<FaceSwap.Contracts.Stages.FrameSwapped>(await Edge.Swap.Ask<object>(
            new FaceSwap.Contracts.Stages.SwapFrame("corrupt", 4, 5000, settings, 640, 480, [new ImageCrop(region.X, region.Y, WireImages.Jpeg(still[region], 90))], found.Faces), timeout));
        Assert.NotEmpty(swapped.Patches);
        Assert.Single(swapped.Tracks);
    }

    [Fact]
    public async Task Under_three_times_overload_the_books_balance_queues_stay_bounded_frames_stay_fresh_and_memory_stays_flat()
    {
        const int Count = 2000;
        using var still = FaceSwap.Swap.Evaluation.StillFrames.Astronaut640x480();
        var options = new EdgeStreamOptions { StreamId = "overload", Swap = new StreamSettings(ClusterFixture.Identity), FramesPerSecond = 30, BudgetMs = 150 };
        // A first stream warms what grows once, so the measured one shows per-frame growth only; the measured one is
        // offered at least four times what the worker served meanwhile, so the overload holds on a faster machine too.
        var (servedPerSecond, rate) = await ClusterFixture.OverloadRate(Edge, still, options with { StreamId = "warm-up" }, 300);
        output.WriteLine($"warm-up served {servedPerSecond:F1} fps; offering {rate} fps");

        var memory = new ConcurrentDictionary<int, long>();
        var managed = new ConcurrentDictionary<int, long>();
        var frames = Source.From(Enumerable.Range(0, Count))
            .Throttle(rate, TimeSpan.FromSeconds(1), rate, ThrottleMode.Shaping)
            .Select(i =>
            {
                if (i % 200 == 0 || i == Count - 1) { memory[i] = SettledMemory(); managed[i] = GC.GetTotalMemory(false); }
                return still.Clone();
            });
        var emitted = 0;
        var lastSeq = -1L;
        var backwards = 0;
        var handle = EdgeStream.Run(Edge.System, frames, options, Edge.Detect, Edge.Swap, Sink.ForEach<EmittedFrame>(f =>
        {
            if (f.Seq <= lastSeq) backwards++;
            lastSeq = f.Seq;
            emitted++;
            f.Dispose();
        }), marks: null);

        // The books must balance at every moment, not only at the end.
        var unbalanced = new List<StreamStats>();
        var samples = 0;
        while (!handle.Completion.IsCompleted)
        {
            var s = handle.Ledger.Snapshot();
            samples++;
            if (s.Offered != s.Served + s.DroppedTotal + s.FailMode + s.InFlight) unbalanced.Add(s);
            await Task.WhenAny(handle.Completion, Task.Delay(20));
        }
        await handle.Completion;
        var stats = handle.Ledger.Snapshot();
        output.WriteLine(StreamReport.Format(stats, TimeSpan.FromSeconds((double)Count / rate), emitted));
        output.WriteLine($"{samples} snapshots; memory after 200 frames {memory[200] / 1e6:F1} MB, after {Count} {memory[Count - 1] / 1e6:F1} MB");

        foreach (var (i, m) in memory.OrderBy(e => e.Key)) output.WriteLine($"  {i}: {m / 1e6:F1} MB, managed {managed[i] / 1e6:F1}");
        Assert.Empty(unbalanced);
        Assert.Equal(Count, stats.Offered);
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(stats.Offered, stats.Served + stats.DroppedTotal + stats.FailMode);
        Assert.True(stats.Offered >= 3 * stats.Served, $"not an overload: {stats.Served} of {stats.Offered} served");
        Assert.True(stats.Served > 0, "nothing was served");
        Assert.True(stats.Dropped.GetValueOrDefault("edge-buffer/stale") > 0, "the keep-latest buffer dropped nothing");
        Assert.True(stats.MaxBuffered <= options.BufferSize, $"keep-latest held {stats.MaxBuffered} > {options.BufferSize}");
        Assert.True(stats.MaxAsking <= options.Parallelism, $"{stats.MaxAsking} asks in flight > {options.Parallelism}");
        Assert.True(stats.MaxEmittedAgeMs <= options.BudgetMs, $"a frame {stats.MaxEmittedAgeMs:F1} ms old was emitted; budget {options.BudgetMs} ms");
        Assert.Equal(0, backwards);
        Assert.Equal(stats.Served + stats.FailMode, emitted);
        // A leak makes memory grow with frames. The process is shared with the other test classes, so it may also
        // fall (their memory returned to the system meanwhile); that says nothing about this stream.
        var growth = (double)memory[Count - 1] / memory[200];
        Assert.True(growth < 1.1, $"memory after {Count} frames is {growth:P0} of after 200");
    }

    private static Mat ChangedMask(Mat before, Mat after)
    {
        using var difference = new Mat();
        Cv2.Absdiff(before, after, difference);
        var mask = new Mat();
        Cv2.CvtColor(difference, mask, ColorConversionCodes.BGR2GRAY);
        Cv2.Threshold(mask, mask, 8, 255, ThresholdTypes.Binary);
        return mask;
    }

    private static double MeanAbsDiff(Mat a, Mat b, Mat mask)
    {
        using var difference = new Mat();
        Cv2.Absdiff(a, b, difference);
        var mean = Cv2.Mean(difference, mask);
        return (mean.Val0 + mean.Val1 + mean.Val2) / 3;
    }

    /// <summary>The process's resident memory after a full, compacting collection: managed and native (OpenCV, ONNX Runtime) alike.</summary>
    private static long SettledMemory()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        // Resident memory: what the frames actually occupy. (Private bytes on Linux count reserved-but-untouched
        // malloc arenas, which jump by 64 MB whenever a new thread first allocates.)
        return self.WorkingSet64;
    }
}
