using MessagePack;

namespace FaceSwap.Contracts;

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
/// worker rebuilds the same engine from the message alone. <see cref="Color"/>: the colour transfer (LabStatistics,
/// None); null, as older senders send, is the shipped default.
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
    [property: Key(7)] float EnhanceBlend = 1,
    [property: Key(8)] string? Color = null);
