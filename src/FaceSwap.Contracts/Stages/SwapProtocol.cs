using System.Diagnostics;
using MessagePack;

namespace FaceSwap.Contracts.Stages;

/// <summary>
/// Edge → swap entity: the full-resolution regions around the stream's faces (where they were last, and where the
/// detector found them when <see cref="Detections"/> is set), for tracking, landmarks and the swap.
/// <see cref="TraceParent"/>: the frame's span (W3C traceparent) when the frame is traced, else null.
/// </summary>
[MessagePackObject]
public sealed record SwapFrame(
    [property: Key(0)] string StreamId,
    [property: Key(1)] long Seq,
    [property: Key(2)] int BudgetMs,
    [property: Key(3)] StreamSettings Settings,
    [property: Key(4)] int FrameWidth,
    [property: Key(5)] int FrameHeight,
    [property: Key(6)] ImageCrop[] Crops,
    [property: Key(7)] FaceBox[]? Detections,
    [property: Key(8)] string? TraceParent = null) : IStreamMessage
{
    [IgnoreMember] public long ReceivedAt { get; } = Stopwatch.GetTimestamp();
}

/// <summary>
/// Swap (or enhance) entity → edge: the patches to composite, the boxes of the faces it tracks (where the next
/// frame's regions go), and whether the next frame needs the detector (periodic, or a track was lost).
/// </summary>
[MessagePackObject]
public sealed record FrameSwapped(
    [property: Key(0)] string StreamId,
    [property: Key(1)] long Seq,
    [property: Key(2)] FacePatch[] Patches,
    [property: Key(3)] FaceBox[] Tracks,
    [property: Key(4)] bool DetectNext,
    [property: Key(5)] bool Lost,
    [property: Key(6)] int WorkerMs,
    [property: Key(7)] string Worker,
    [property: Key(8)] int EnhanceMs = 0,
    [property: Key(9)] string? Provider = null,
    [property: Key(10)] string? EnhanceProvider = null) : IStreamMessage;

/// <summary>
/// Swap entity → enhance entity (same stream), forwarded with the edge as sender so the frame still makes one
/// round trip: the swapped patches to restore. <see cref="TraceParent"/>: the swap's span when the frame is traced, else null.
/// </summary>
[MessagePackObject]
public sealed record EnhanceFrame([property: Key(0)] string StreamId, [property: Key(1)] int BudgetMs, [property: Key(2)] StreamSettings Settings,
    [property: Key(3)] FrameSwapped Swapped, [property: Key(4)] string? TraceParent = null) : IStreamMessage
{
    [IgnoreMember] public long ReceivedAt { get; } = Stopwatch.GetTimestamp();
}
