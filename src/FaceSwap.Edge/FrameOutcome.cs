using OpenCvSharp;

namespace FaceSwap.Edge;

public enum OutcomeKind
{
    /// <summary>Swapped (or no face to swap): ready for the sink.</summary>
    Served,
    /// <summary>A stage refused the frame (corrupt payload, consent ended, …): the fail mode renders it.</summary>
    Failed,
    /// <summary>Dropped on the way and counted there.</summary>
    Dropped,
    /// <summary>The fail mode emitted this frame while the stages were late: its late answer is discarded.</summary>
    Superseded,
}

/// <summary>What became of a frame in the pipeline; <see cref="Faces"/> are the face regions known after it, for the fail mode's blur.</summary>
public sealed record FrameOutcome(StreamFrame Frame, OutcomeKind Kind, IReadOnlyList<Rect> Faces);

/// <summary>A frame on its way to the sink; the sink owns and frees it.</summary>
public sealed record EmittedFrame(long Seq, Mat Image, bool FailMode, double AgeMs) : IDisposable
{
    public void Dispose() => Image.Dispose();
}
