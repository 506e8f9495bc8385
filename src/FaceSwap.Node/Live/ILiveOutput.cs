using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>Where a live stream's marked output goes besides its viewers: a recording, a push to a URL or a virtual camera.</summary>
public interface ILiveOutput : IDisposable
{
    /// <summary>What it is, for logs and the stream's answer ("record out.mp4", "push udp://…").</summary>
    string Describe { get; }

    /// <summary>Frame <paramref name="seq"/> of the stream (the source's frame number); must not block the stream for long.</summary>
    void Write(long seq, Mat frame);

    /// <summary>The stream has ended: finish (a recording's file); its path when it wrote one.</summary>
    string? Complete();
}
