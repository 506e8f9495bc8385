using System.Collections.Concurrent;
using System.Diagnostics;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Contracts.Tracing;
using Xunit.Abstractions;

namespace FaceSwap.Edge.Tests;

/// <summary>
/// The edge's side of a frame's trace, against scripted fake stages: without a listener nothing is traced and the
/// requests carry no context; with one, each frame is a root span whose context the requests carry, the composite
/// is its child, and a dropped or failed frame's span says why. (The test assembly runs one test at a time, so the
/// listener here is the only one.)
/// </summary>
public sealed class FrameTracingTests(ITestOutputHelper output) : EdgeTestKit(output)
{
    private static EdgeStreamOptions Orderly(int frames) =>
        Options() with { Parallelism = 1, BufferSize = frames, BudgetMs = 5000, FramesPerSecond = 0.5 };

    [Fact]
    public async Task Without_a_listener_nothing_is_traced_and_the_requests_carry_no_context()
    {
        Assert.False(FrameTracing.Source.HasListeners());
        Assert.Null(FrameTracing.StartFrame("s", 1, "node"));
        Assert.Null(FrameTracing.StartStage(FrameTracing.Swap, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "worker", "s", 1));
        Assert.Null(FrameTracing.TraceParent(null));

        const int count = 4;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m => Fakes.Swapped((SwapFrame)m, detectNext: true, Fakes.Placement((SwapFrame)m))));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), Orderly(count), detect, swap, recorder);

        Assert.Equal(count, stats.Served);
        Assert.Equal(count, detectLog.Count);
        Assert.All(detectLog.Requests.Cast<DetectFrame>(), d => Assert.Null(d.TraceParent));
        Assert.Equal(count, swapLog.Count);
        Assert.All(swapLog.Requests.Cast<SwapFrame>(), s => Assert.Null(s.TraceParent));
    }

    [Fact]
    public async Task A_frame_the_sampler_leaves_out_sends_no_context_and_gets_no_composite_span()
    {
        var spans = new ConcurrentQueue<Activity>();
        // What a ratio sampler answers for a frame it does not pick: the span exists for propagation only.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == FrameTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        const int count = 3;
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, Fakes.Detect));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m => Fakes.Swapped((SwapFrame)m, detectNext: true, Fakes.Placement((SwapFrame)m))));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), Orderly(count), detect, swap, recorder);

        Assert.Equal(count, stats.Served);
        Assert.All(detectLog.Requests.Cast<DetectFrame>(), d => Assert.Null(d.TraceParent));
        Assert.All(swapLog.Requests.Cast<SwapFrame>(), s => Assert.Null(s.TraceParent));
        Assert.All(spans, s => Assert.False(s.Recorded));
        Assert.DoesNotContain(spans, s => s.OperationName == FrameTracing.Composite);
    }

    [Fact]
    public async Task With_a_listener_each_frame_is_a_root_span_the_requests_carry_and_a_dropped_or_failed_frame_says_why()
    {
        const int count = 6;
        const long detectFailed = 2, swapDropped = 4;
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == FrameTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var (detectLog, swapLog) = (new StageLog(), new StageLog());
        var detect = Sys.ActorOf(FakeStage.For(detectLog, m => m is DetectFrame { Seq: detectFailed } d
            ? new StageFailed(d.StreamId, d.Seq, Regions.Detect, "ImageCodecException: scripted")
            : Fakes.Detect(m)));
        var swap = Sys.ActorOf(FakeStage.For(swapLog, m => m is SwapFrame { Seq: swapDropped } s
            ? new StageDropped(s.StreamId, s.Seq, Regions.Swap, DropReasons.Budget)
            : Fakes.Swapped((SwapFrame)m, detectNext: true, Fakes.Placement((SwapFrame)m))));
        using var recorder = new Recorder();

        var stats = await Run(Frames.Paced(count, 50), Orderly(count), detect, swap, recorder);

        Assert.Equal(count - 2, stats.Served);
        var frames = spans.Where(s => s.OperationName == FrameTracing.Frame).ToDictionary(s => (long)s.GetTagItem(FrameTracing.SeqTag)!);
        Assert.Equal(count, frames.Count);
        var node = ((Akka.Actor.ExtendedActorSystem)Sys).Provider.DefaultAddress.ToString();
        foreach (var (seq, frame) in frames)
        {
            Assert.Equal(default, frame.ParentSpanId);
            Assert.Equal(node, frame.GetTagItem(FrameTracing.NodeTag));
            Assert.Equal(Options().StreamId, frame.GetTagItem(FrameTracing.StreamTag));
            // Every request of the frame carries the frame's span as the parent of the stage's span.
            var context = $"00-{frame.TraceId}-{frame.SpanId}-01";
            Assert.Equal(context, Assert.Single(detectLog.Requests.Cast<DetectFrame>(), d => d.Seq == seq).TraceParent);
            if (seq != detectFailed)
                Assert.Equal(context, Assert.Single(swapLog.Requests.Cast<SwapFrame>(), s => s.Seq == seq).TraceParent);
        }
        Assert.Equal(count, frames.Values.Select(f => f.TraceId).Distinct().Count());

        Assert.Equal((ActivityStatusCode.Error, "detect failed: ImageCodecException: scripted"), (frames[detectFailed].Status, frames[detectFailed].StatusDescription));
        Assert.Equal((ActivityStatusCode.Error, "dropped: swap/budget"), (frames[swapDropped].Status, frames[swapDropped].StatusDescription));
        var served = frames.Where(f => f.Key is not (detectFailed or swapDropped)).Select(f => f.Value).ToList();
        Assert.All(served, f => Assert.Equal(ActivityStatusCode.Unset, f.Status));

        // The composite: one per served frame, under its frame span, tagged like it.
        var composites = spans.Where(s => s.OperationName == FrameTracing.Composite).ToList();
        Assert.Equal(served.Count, composites.Count);
        foreach (var frame in served)
        {
            var composite = Assert.Single(composites, c => c.ParentSpanId == frame.SpanId);
            Assert.Equal(frame.TraceId, composite.TraceId);
            Assert.Equal(node, composite.GetTagItem(FrameTracing.NodeTag));
            Assert.Equal(frame.GetTagItem(FrameTracing.SeqTag), composite.GetTagItem(FrameTracing.SeqTag));
        }
    }
}
