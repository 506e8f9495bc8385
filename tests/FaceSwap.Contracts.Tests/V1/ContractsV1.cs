// The previous-version contract set (V1), FROZEN: it must never change. It is what a node one release older
// sends and expects, copied verbatim from src/FaceSwap.Contracts with only the namespace renamed (and the marker
// interfaces copied, so these types never bind to the real serializer). When the contracts change, this copy
// stays as it is and a new frozen copy (V2, ...) is added at the next release.
using System.Diagnostics;
using MessagePack;

namespace FaceSwap.Contracts.Tests.V1;

// ---- IFaceSwapMessage.cs
/// <summary>
/// Marks every message that may cross nodes: the Akka serializer binding is on this interface, so a message type
/// without it cannot reach the wire by accident through a default (JSON or typeless) serializer.
/// </summary>
public interface IFaceSwapMessage;

/// <summary>A message for one stream's entity: the shard extractor routes on <see cref="StreamId"/>.</summary>
public interface IStreamMessage : IFaceSwapMessage
{
    string StreamId { get; }
}

// ---- WireTypes.cs
/// <summary>
/// A compressed image on the wire: raw pixels stay inside a process. <see cref="Codec"/> is "jpeg" for pixels
/// (quality configurable at the edge) or "png" for masks, which must stay exact.
/// </summary>
[MessagePackObject]
public sealed record EncodedImage([property: Key(0)] string Codec, [property: Key(1)] int Width, [property: Key(2)] int Height,
    [property: Key(3)] byte[] Data)
{
    public const string Jpeg = "jpeg";
    public const string Png = "png";
}

/// <summary>A face the detector found, in full-frame pixels: box, score, and the detector's keypoints as x, y pairs.</summary>
[MessagePackObject]
public sealed record FaceBox([property: Key(0)] float X, [property: Key(1)] float Y, [property: Key(2)] float Width,
    [property: Key(3)] float Height, [property: Key(4)] float Score, [property: Key(5)] float[] Keypoints);

/// <summary>A region of the full-resolution frame the edge kept, at (<see cref="X"/>, <see cref="Y"/>).</summary>
[MessagePackObject]
public sealed record ImageCrop([property: Key(0)] int X, [property: Key(1)] int Y, [property: Key(2)] EncodedImage Image);

/// <summary>
/// What a worker sends back for one region: the swapped pixels, the mask of what changed (255: take the patch),
/// and where both go in the full frame. <see cref="FivePoints"/> (x, y pairs in patch pixels) lets the enhancer align the face.
/// </summary>
[MessagePackObject]
public sealed record FacePatch([property: Key(0)] int X, [property: Key(1)] int Y, [property: Key(2)] EncodedImage Patch,
    [property: Key(3)] EncodedImage Mask, [property: Key(4)] float[] FivePoints);

/// <summary>
/// The stream's swap settings, sent with every swap request so an entity that was passivated or moved to another
/// worker rebuilds the same engine from the message alone.
/// </summary>
[MessagePackObject]
public sealed record StreamSettings(
    [property: Key(0)] string IdentityId,
    [property: Key(1)] int DetectEvery = 5,
    [property: Key(2)] string Selection = "All",
    [property: Key(3)] string Blend = "Feather",
    [property: Key(4)] float FramesPerSecond = 30,
    [property: Key(5)] string? Swapper = null,
    [property: Key(6)] string? Enhancer = null,
    [property: Key(7)] float EnhanceBlend = 1);

// ---- Stages/DetectProtocol.cs
/// <summary>
/// Edge → detect entity: the frame, downscaled for the detector by <see cref="Scale"/> (full-frame pixels per
/// detector pixel). <see cref="BudgetMs"/> is what is left of the frame's latency budget when it was sent.
/// </summary>
[MessagePackObject]
public sealed record DetectFrame([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] int BudgetMs,
    [property: Key(3)] EncodedImage Frame, [property: Key(4)] float Scale) : IStreamMessage
{
    /// <summary>When this node got the message (set as it is deserialized, or made locally): a hop's own clock only.</summary>
    [IgnoreMember] public long ReceivedAt { get; } = Stopwatch.GetTimestamp();
}

/// <summary>Detect entity → edge: the faces in full-frame pixels.</summary>
[MessagePackObject]
public sealed record FacesDetected([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] FaceBox[] Faces,
    [property: Key(3)] int WorkerMs, [property: Key(4)] string Worker) : IStreamMessage;

// ---- Stages/SwapProtocol.cs
/// <summary>
/// Edge → swap entity: the full-resolution regions around the stream's faces (where they were last, and where the
/// detector found them when <see cref="Detections"/> is set), for tracking, landmarks and the swap.
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
    [property: Key(7)] FaceBox[]? Detections) : IStreamMessage
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
    [property: Key(8)] int EnhanceMs = 0) : IStreamMessage;

/// <summary>
/// Swap entity → enhance entity (same stream), forwarded with the edge as sender so the frame still makes one
/// round trip: the swapped patches to restore.
/// </summary>
[MessagePackObject]
public sealed record EnhanceFrame([property: Key(0)] string StreamId, [property: Key(1)] int BudgetMs, [property: Key(2)] StreamSettings Settings,
    [property: Key(3)] FrameSwapped Swapped) : IStreamMessage
{
    [IgnoreMember] public long ReceivedAt { get; } = Stopwatch.GetTimestamp();
}

// ---- Stages/StageOutcomes.cs
/// <summary>A stage dropped the frame (its budget was spent in the worker's mailbox): counted at the edge by hop and reason.</summary>
[MessagePackObject]
public sealed record StageDropped([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] string Stage,
    [property: Key(3)] string Reason) : IStreamMessage;

/// <summary>A stage could not process the frame: the error, with what failed and on which input.</summary>
[MessagePackObject]
public sealed record StageFailed([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] string Stage,
    [property: Key(3)] string Error) : IStreamMessage;

/// <summary>Edge → every stage entity of the stream: the stream ended; free its state now rather than at passivation.</summary>
[MessagePackObject]
public sealed record StopStream([property: Key(0)] string StreamId) : IStreamMessage;
