using System.Diagnostics;
using MessagePack;

namespace FaceSwap.Contracts.Stages;

/// <summary>
/// Edge → detect entity: the frame, downscaled for the detector by <see cref="Scale"/> (full-frame pixels per
/// detector pixel). <see cref="BudgetMs"/> is what is left of the frame's latency budget when it was sent.
/// <see cref="TraceParent"/>: the frame's span (W3C traceparent) when the frame is traced, else null.
/// </summary>
[MessagePackObject]
public sealed record DetectFrame([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] int BudgetMs,
    [property: Key(3)] EncodedImage Frame, [property: Key(4)] float Scale, [property: Key(5)] string? TraceParent = null) : IStreamMessage
{
    /// <summary>When this node got the message (set as it is deserialized, or made locally): a hop's own clock only.</summary>
    [IgnoreMember] public long ReceivedAt { get; } = Stopwatch.GetTimestamp();
}

/// <summary>Detect entity → edge: the faces in full-frame pixels.</summary>
[MessagePackObject]
public sealed record FacesDetected([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] FaceBox[] Faces,
    [property: Key(3)] int WorkerMs, [property: Key(4)] string Worker, [property: Key(5)] string? Provider = null) : IStreamMessage;
