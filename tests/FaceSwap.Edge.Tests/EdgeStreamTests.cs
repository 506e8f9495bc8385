using System.Collections.Concurrent;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Edge.Tests;

/// <summary>The served path, keep-latest, bad answers and oversize requests: the real graph against scripted fake stages.</summary>
public sealed class EdgeStreamTests(ITestOutputHelper output) : EdgeTestKit(output)
{
    /// <summary>One frame at a time, nothing stale, and a fail-mode tick only after 4 s without a served frame: every frame is served.</summary>
    private static EdgeStreamOptions Orderly(int frames) =>
        Options() with { Parallelism = 1, BufferSize = frames, BudgetMs = 5000, FramesPerSecond = 0.5 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Served_frames_carry_the_patch_where_the_swap_placed_it_and_detect_runs_when_the_swap_asks(bool detectNext)
    {
        const int count = 8;
        var placements = new ConcurrentDictionary<long, Rect>();
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m =>
        {
            var request = (SwapFrame)m;
            var place = placements[request.Seq] = Fakes.Placement(request);
            return Fakes.Swapped(request, detectNext, place);
        }));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), Orderly(count), detect, swap, recorder);

        var frames = recorder.Frames;
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), frames.Select(f => f.Seq));
        Assert.All(frames, f => Assert.False(f.FailMode));
        foreach (var frame in frames) AssertPatched(frame, placements[frame.Seq]);
        Assert.Equal(count, stats.Offered);
        Assert.Equal(count, stats.Served);
        AssertBooksBalance(stats);

        // The detector runs on the first frame (nothing tracked yet), then only when the swap says so.
        var detects = detectLog.Requests.Cast<DetectFrame>().ToList();
        Assert.Equal(detectNext ? count : 1, detects.Count);
        Assert.Equal(0, detects[0].Seq);
        Assert.All(detects, d => Assert.Equal(1f, d.Scale));
        var swaps = swapLog.Requests.Cast<SwapFrame>().ToList();
        Assert.Equal(count, swaps.Count);
        foreach (var request in swaps)
        {
            // Detections travel with the swap request exactly when the detector ran on that frame.
            Assert.Equal(detects.Any(d => d.Seq == request.Seq), request.Detections is not null);
            Assert.Equal((Frames.Width, Frames.Height), (request.FrameWidth, request.FrameHeight));
            var crop = new Rect(request.Crops[0].X, request.Crops[0].Y, request.Crops[0].Image.Width, request.Crops[0].Image.Height);
            Assert.Equal(placements[request.Seq], placements[request.Seq] & crop);
        }
        await AwaitStops(detectLog, swapLog);
    }

    [Fact]
    public async Task A_slow_swap_makes_keep_latest_drop_stale_frames_within_its_bounds()
    {
        const int count = 150;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m =>
        {
            var request = (SwapFrame)m;
            return Fakes.Swapped(request, false, Fakes.Placement(request));
        }, delay: TimeSpan.FromMilliseconds(100)));
        // An output rate whose two intervals (400 ms) exceed the swap's latency: at 30 fps the fail-mode tick would
        // preempt every frame (see the skipped test below), and this test is about the buffer, not the gate.
        var options = Options() with { Parallelism = 2, BufferSize = 2, BudgetMs = 2000, FramesPerSecond = 5 };
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 100), options, detect, swap, recorder);

        Assert.Equal(count, stats.Offered);
        Assert.True(stats.Dropped.GetValueOrDefault($"{EdgeStages.Buffer}/{DropReasons.Stale}") > 0, $"no stale drops: {Describe(stats)}");
        Assert.InRange(stats.MaxBuffered, 1, options.BufferSize);
        Assert.InRange(stats.MaxAsking, 1, options.Parallelism);
        Assert.True(stats.Served > 0, Describe(stats));
        // The slow stage saw only part of what was captured: the rest gave way to newer frames.
        Assert.True(swapLog.Count < count, $"swap asked {swapLog.Count} times for {count} frames");
        var frames = recorder.Frames;
        AssertStrictlyIncreasing(frames);
        Assert.Equal(stats.Served + stats.FailMode, frames.Count);
        Assert.Equal(stats.Served, frames.Count(f => !f.FailMode));
        AssertBooksBalance(stats);
    }

    /// <summary>
    /// A swap answering in 80 ms, well within the 150 ms budget, with two frames in flight (25 fps of capacity) at a
    /// 30 fps stream. Fails today (0 of 90 served): once no frame was served for two intervals (67 ms), OutputGate.OnTick
    /// claims a pending frame every interval whatever its age; every frame is claimed before its 80 ms answer comes back
    /// (with ClaimNewestForFailMode the older frames in flight turn late; with ClaimOldestForFailMode each frame is
    /// claimed at about 67 ms of age), so no frame is ever served again and the fail mode never ends.
    /// </summary>
    [Fact]
    public async Task A_swap_slower_than_two_intervals_but_within_budget_is_still_served()
    {
        const int count = 90;
        var detect = Sys.ActorOf(FakeStage.For(new StageLog(), Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(new StageLog(), m =>
        {
            var request = (SwapFrame)m;
            return Fakes.Swapped(request, false, Fakes.Placement(request));
        }, delay: TimeSpan.FromMilliseconds(80)));
        var options = Options() with { FramesPerSecond = 30, BudgetMs = 150, Parallelism = 2, BufferSize = 1 };
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 30), options, detect, swap, recorder);

        Assert.True(stats.Served >= count / 3, Describe(stats));
        AssertBooksBalance(stats);
    }

    [Fact]
    public async Task A_corrupt_patch_or_one_outside_the_frame_fails_that_frame_only()
    {
        const int count = 9;
        const long corrupt = 2, outside = 5;
        var placements = new ConcurrentDictionary<long, Rect>();
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m =>
        {
            var request = (SwapFrame)m;
            var place = placements[request.Seq] = request.Seq == outside
                ? new Rect(Frames.Width - Fakes.PatchSide / 2, 100, Fakes.PatchSide, Fakes.PatchSide)
                : Fakes.Placement(request);
            return Fakes.Swapped(request, false, place, request.Seq == corrupt ? Fakes.CorruptPatch : null);
        }));
        var options = Orderly(count) with { FailMode = FailMode.Blur };
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), options, detect, swap, recorder);

        var frames = recorder.Frames;
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), frames.Select(f => f.Seq));
        Assert.Equal([corrupt, outside], frames.Where(f => f.FailMode).Select(f => f.Seq));
        // The face is known from the frame before: the fail mode blurs its region, and the rest is the input.
        var faces = FaceRegions.Of([Fakes.Face], null, Frames.Width, Frames.Height);
        foreach (var frame in frames)
        {
            if (!frame.FailMode)
            {
                AssertPatched(frame, placements[frame.Seq]);
                continue;
            }
            using var expected = Frames.Blurred(frame.Seq, faces);
            Assert.True(Frames.Same(expected, frame.Image), $"fail-mode frame {frame.Seq} is not its input with the face blurred");
        }
        Assert.Equal(count, swapLog.Count);
        Assert.Equal(count - 2, stats.Served);
        Assert.Equal(2, stats.FailMode);
        AssertBooksBalance(stats);
    }

    [Fact]
    public async Task Stage_failures_go_to_the_fail_mode_and_stage_drops_are_counted_by_hop_and_reason()
    {
        const int count = 8;
        const long detectDropped = 1, detectFailed = 4, swapFailed = 3, swapDropped = 6;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, m =>
        {
            var request = (DetectFrame)m;
            return request.Seq switch
            {
                detectDropped => new StageDropped(request.StreamId, request.Seq, Regions.Detect, DropReasons.Budget),
                detectFailed => new StageFailed(request.StreamId, request.Seq, Regions.Detect, "ImageCodecException: scripted"),
                _ => Fakes.Detect(m),
            };
        }));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m =>
        {
            var request = (SwapFrame)m;
            return request.Seq switch
            {
                swapFailed => new StageFailed(request.StreamId, request.Seq, Regions.Swap, "InvalidOperationException: scripted"),
                swapDropped => new StageDropped(request.StreamId, request.Seq, Regions.Swap, DropReasons.Budget),
                _ => Fakes.Swapped(request, detectNext: true, Fakes.Placement(request)),
            };
        }));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), Orderly(count), detect, swap, recorder);

        var frames = recorder.Frames;
        long[] dropped = [detectDropped, swapDropped];
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i).Except(dropped), frames.Select(f => f.Seq));
        Assert.Equal([swapFailed, detectFailed], frames.Where(f => f.FailMode).Select(f => f.Seq));
        Assert.Equal(count, detectLog.Count);
        Assert.Equal(count - 2, swapLog.Count);
        Assert.Equal(2, stats.FailMode);
        Assert.Equal(count - 4, stats.Served);
        Assert.Equal(1, stats.Dropped.GetValueOrDefault($"{Regions.Detect}/{DropReasons.Budget}"));
        Assert.Equal(1, stats.Dropped.GetValueOrDefault($"{Regions.Swap}/{DropReasons.Budget}"));
        Assert.Equal(2, stats.DroppedTotal);
        AssertBooksBalance(stats);
    }

    [Fact]
    public async Task A_request_over_the_payload_limit_is_dropped_at_the_edge_and_never_sent()
    {
        const int count = 5;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m => Fakes.Swapped((SwapFrame)m, false, Fakes.Placement((SwapFrame)m))));
        var options = Orderly(count) with { MaxPayloadBytes = 1000 };
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), options, detect, swap, recorder);

        Assert.Equal(count, stats.Offered);
        Assert.Equal(count, stats.Oversize);
        Assert.Equal(count, stats.Dropped.GetValueOrDefault($"{Regions.Detect}/{DropReasons.Oversize}"));
        Assert.Equal(0, stats.Served);
        Assert.Empty(recorder.Frames);
        AssertBooksBalance(stats);
        // The fakes were there (they got the end of the stream), and asked nothing.
        await AwaitStops(detectLog, swapLog);
        Assert.Equal(0, detectLog.Count);
        Assert.Equal(0, swapLog.Count);
    }
}
