using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Landmarks;

/// <summary>FaceMesh's 468 points in frame pixels (z: relative depth, same scale), its face-presence score, and the crop it ran on. Reused frame to frame.</summary>
public sealed class FaceLandmarks
{
    public const int Count = 468;
    public Point3f[] Mesh { get; } = new Point3f[Count];
    public float Presence { get; set; }
    /// <summary>Maps the 192×192 model crop to the frame.</summary>
    public Affine2D CropToFrame { get; set; }
}
