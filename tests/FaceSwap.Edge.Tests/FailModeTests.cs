using FaceSwap.Contracts.Stages;
using Xunit.Abstractions;

namespace FaceSwap.Edge.Tests;

/// <summary>Stages that stop answering: the stream keeps its rate, every frame flagged, rendered as the fail mode says.</summary>
public sealed class FailModeTests(ITestOutputHelper output) : EdgeTestKit(output)
{
    private const double Fps = 20;
    // Four seconds: a machine running other suites at once can stall this process for most of a second, which drops
    // the frames captured meanwhile as stale (latency before completeness); over two seconds that alone was a third.
    private const int Seconds = 4;
    private const int Count = (int)(Fps * Seconds);

    private static EdgeStreamOptions Stalled(FailMode mode) =>
        Options() with { FailMode = mode, FramesPerSecond = Fps, BudgetMs = 100 };

    [Theory]
    [InlineData(FailMode.Blur)]
    [InlineData(FailMode.Hold)]
    [InlineData(FailMode.Passthrough)]
    public async Task A_stage_that_never_answers_still_gets_frames_out_at_the_stream_rate(FailMode mode)
    {
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, _ => null));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, _ => null));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(Count, Fps), Stalled(mode), detect, swap, recorder);

        var frames = recorder.Frames;
        Assert.True(frames.Count >= 0.7 * Count, $"{frames.Count} frames out of {Count} offered at {Fps} fps");
        Assert.All(frames, f => Assert.True(f.FailMode, $"frame {f.Seq} is not flagged"));
        AssertStrictlyIncreasing(frames);
        foreach (var frame in frames)
        {
            using var input = Frames.Make(frame.Seq);
            if (mode == FailMode.Passthrough)
            {
                Assert.True(Frames.Same(input, frame.Image), $"passthrough frame {frame.Seq} is not its input");
                continue;
            }
            // Blur, and Hold with nothing swapped yet: the whole frame blurred, never the input.
            using var blurred = Frames.Blurred(frame.Seq, []);
            Assert.False(Frames.Same(input, frame.Image), $"{mode} frame {frame.Seq} shows its input");
            Assert.True(Frames.Same(blurred, frame.Image), $"{mode} frame {frame.Seq} is not its input blurred whole");
        }
        Assert.Equal(0, stats.Served);
        Assert.Equal(frames.Count, stats.FailMode);
        Assert.True(detectLog.Count > 0);
        Assert.Equal(0, swapLog.Count);
        AssertBooksBalance(stats);
    }

    [Fact]
    public async Task Hold_repeats_the_last_served_frame_once_the_swap_stops_answering()
    {
        const int answered = 5;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swaps = 0;
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m =>
        {
            var request = (SwapFrame)m;
            return Interlocked.Increment(ref swaps) <= answered ? Fakes.Swapped(request, false, Fakes.Placement(request)) : null;
        }));
        var options = Stalled(FailMode.Hold) with { BudgetMs = 400 };
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(Count, Fps), options, detect, swap, recorder);

        var frames = recorder.Frames;
        AssertStrictlyIncreasing(frames);
        var lastServed = frames.Select((f, i) => (f, i)).LastOrDefault(e => !e.f.FailMode);
        Assert.True(lastServed.f is not null, "no frame was served");
        Assert.InRange(stats.Served, 1, answered);
        var after = frames.Skip(lastServed.i + 1).ToList();
        Assert.True(after.Count >= 10, $"only {after.Count} frames after the last served one");
        Emitted? held = null;
        foreach (var frame in frames)
        {
            if (!frame.FailMode)
            {
                held = frame;
                continue;
            }
            if (held is null)
            {
                // Nothing swapped yet: the fallback is a blur, never the input.
                using var input = Frames.Make(frame.Seq);
                Assert.False(Frames.Same(input, frame.Image), $"hold frame {frame.Seq} shows its input");
                continue;
            }
            Assert.True(Frames.Same(held.Image, frame.Image), $"hold frame {frame.Seq} is not the last served frame {held.Seq}");
        }
        Assert.Equal(frames.Count - stats.Served, stats.FailMode);
        AssertBooksBalance(stats);
    }
}
