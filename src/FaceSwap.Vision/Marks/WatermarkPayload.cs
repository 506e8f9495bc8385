using System.Security.Cryptography;
using System.Text;

namespace FaceSwap.Vision.Marks;

/// <summary>What the invisible watermark carries: the node that made the frame and its session (64 bits in all).</summary>
public sealed record WatermarkPayload(ushort Node, ulong Session)
{
    /// <summary>Session ids have 48 bits, so that node and session fit the watermark's 64-bit payload.</summary>
    public const ulong MaxSession = (1UL << 48) - 1;

    public ulong Session { get; init => field = CheckSession(value); } = CheckSession(Session);

    /// <summary>The payload for a node by name: its id is <see cref="NodeIdOf"/> of the name.</summary>
    public static WatermarkPayload For(string nodeName, ulong session) => new(NodeIdOf(nodeName), session);

    /// <summary>A stable 16-bit id for a node name: the first two bytes of SHA-256 of its UTF-8, big-endian.</summary>
    public static ushort NodeIdOf(string nodeName)
    {
        if (string.IsNullOrWhiteSpace(nodeName)) throw new ArgumentException("a node name is needed to derive its watermark id", nameof(nodeName));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(nodeName));
        return (ushort)(hash[0] << 8 | hash[1]);
    }

    internal ulong Bits => (ulong)Node << 48 | Session;

    internal static WatermarkPayload FromBits(ulong bits) => new((ushort)(bits >> 48), bits & MaxSession);

    public override string ToString() => $"node 0x{Node:x4} session 0x{Session:x12}";

    private static ulong CheckSession(ulong session) => session <= MaxSession
        ? session
        : throw new ArgumentOutOfRangeException(nameof(session), session, $"a watermark session id has at most 48 bits (≤ 0x{MaxSession:x12}); derive a shorter one, e.g. the low 48 bits of the session's hash");
}

/// <summary>
/// What <see cref="Watermark.Detect(OpenCvSharp.Mat)"/> found. <see cref="Marked"/> means the decoded payload's CRC-24
/// holds, which a random picture does with probability 2^-24. <see cref="Score"/> is the cosine between the soft bits
/// and the re-encoded best path, −1 to 1: Viterbi fits noise up to about 0.75, and marked frames scored 0.8 to 1
/// after JPEG 75, 0.5× and H.264 crf 23 in the watermark campaign; it informs, the CRC decides.
/// </summary>
public sealed record WatermarkDetection(bool Marked, WatermarkPayload? Payload, double Score, int Frames)
{
    public override string ToString() => Marked
        ? $"marked ({Payload}), score {Score:F2} over {Frames} frame(s)"
        : $"not marked, score {Score:F2} over {Frames} frame(s)";
}
