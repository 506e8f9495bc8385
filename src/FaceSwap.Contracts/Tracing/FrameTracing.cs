using System.Diagnostics;

namespace FaceSwap.Contracts.Tracing;

/// <summary>
/// A frame's trace across nodes: the edge's "frame" span is the root; each stage's span is parented by the W3C
/// traceparent the message carries (edge → detect, swap; swap → enhance), never by an ambient span. With no
/// listener (tracing off) every method returns null at the cost of one check, and messages carry no context.
/// </summary>
public static class FrameTracing
{
    public const string SourceName = "FaceSwap.Frames";

    /// <summary>The span names, one per stage (the worker stages' are their region names).</summary>
    public const string Frame = "frame", Detect = Regions.Detect, Swap = Regions.Swap, Enhance = Regions.Enhance, Composite = "composite";

    /// <summary>Tag names: the stream and frame a span belongs to, and the node (edge) or worker address that ran it.</summary>
    public const string StreamTag = "faceswap.stream", SeqTag = "faceswap.seq", NodeTag = "faceswap.node", WorkerTag = "faceswap.worker";

    public static ActivitySource Source { get; } = new(SourceName, typeof(FrameTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// The edge's root span of one frame, on <paramref name="node"/>: each frame is a trace of its own, never a child
    /// of the caller's ambient span (a request that started the stream, say). Call it at the start of the frame's own
    /// async method: it clears <see cref="Activity.Current"/> there.
    /// </summary>
    public static Activity? StartFrame(string streamId, long seq, string node)
    {
        if (!Source.HasListeners()) return null;
        // With no current span, StartActivity makes the frame a root.
        Activity.Current = null;
        return Source.StartActivity(Frame, ActivityKind.Internal, default(ActivityContext),
            [new(StreamTag, streamId), new(SeqTag, seq), new(NodeTag, node)]);
    }

    /// <summary>
    /// A worker stage's span, parented by <paramref name="traceParent"/> from the message only; null when the message
    /// carries none (the frame is not sampled, or the sender predates tracing) or no listener is attached.
    /// </summary>
    public static Activity? StartStage(string name, string? traceParent, string worker, string streamId, long seq)
    {
        if (traceParent is null || !Source.HasListeners()) return null;
        // A malformed context from a peer only costs the frame its trace, never the frame.
        if (!ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)) return null;
        return Source.StartActivity(name, ActivityKind.Server, parent, [new(StreamTag, streamId), new(SeqTag, seq), new(WorkerTag, worker)]);
    }

    /// <summary>
    /// A span under <paramref name="parent"/> on the same node (the edge's composite), with its tags (stream, frame,
    /// node); null when the parent is not recorded.
    /// </summary>
    public static Activity? StartChild(string name, Activity? parent) =>
        parent is { Recorded: true } ? Source.StartActivity(name, ActivityKind.Internal, parent.Context, parent.TagObjects) : null;

    /// <summary>The W3C traceparent to put into a message so the next stage's span joins the trace; null when not sampled.</summary>
    public static string? TraceParent(Activity? activity) =>
        activity is { Recorded: true } ? $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-01" : null;

    /// <summary>Marks the span failed (a drop, a stage's error) with what happened.</summary>
    public static void Failed(Activity? span, string reason) => span?.SetStatus(ActivityStatusCode.Error, reason);
}
