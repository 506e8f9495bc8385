using FaceSwap.Faces.Landmarks;

namespace FaceSwap.Swap.Tracking;

/// <summary>One face followed from frame to frame: its smoothed landmarks, its identity (set on detection frames) and its filter.</summary>
public sealed class FaceTrack(int id, float minCutoff, float beta)
{
    public int Id { get; } = id;
    public FaceLandmarks Landmarks { get; } = new();
    public float[]? Embedding { get; set; }
    public int Age { get; set; }
    internal float[] Coordinates { get; } = new float[FaceLandmarks.Count * 3];
    internal OneEuroFilter Filter { get; } = new(FaceLandmarks.Count * 3, minCutoff, beta);
}
