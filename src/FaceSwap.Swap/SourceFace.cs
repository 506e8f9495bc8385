using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>
/// A source identity ready to swap in: its texture (a BGR image) and its 468-point mesh on that texture.
/// Computed once per identity and reused for every frame.
/// </summary>
public sealed class SourceFace : IDisposable
{
    public SourceFace(Mat texture, Point2f[] mesh)
    {
        if (texture.Type() != MatType.CV_8UC3) throw new ArgumentException($"source texture must be 8-bit BGR, got {texture.Type()}");
        if (mesh.Length != 468) throw new ArgumentException($"source mesh must have 468 points, got {mesh.Length}");
        Texture = texture;
        Mesh = mesh;
    }

    public Mat Texture { get; }
    public Point2f[] Mesh { get; }

    public void Dispose() => Texture.Dispose();
}
