using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>What the stream engine swaps with: the built-in mesh swap, or a bring-your-own neural swapper.</summary>
public interface IFaceSwapper
{
    /// <summary>Swaps <paramref name="source"/> onto the face whose mesh is <paramref name="targetMesh"/>, in place.</summary>
    void Swap(Mat frame, SourceFace source, ReadOnlySpan<Point3f> targetMesh);
}
