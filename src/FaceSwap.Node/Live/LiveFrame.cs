namespace FaceSwap.Node.Live;

/// <summary>
/// One emitted frame as viewers get it: the marked frame as JPEG (encoded once for every viewer), its sequence
/// number, whether the fail mode emitted it, its age on the edge, and the capture time its client sent (NaN: none).
/// </summary>
public sealed record LiveFrame(long Seq, byte[] Jpeg, bool FailMode, double AgeMs, double ClientTime);
