using System.Runtime.CompilerServices;
using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

/// <summary>BlazeFace's six keypoints: right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion ("right" is the person's right, image left for a frontal face).</summary>
[InlineArray(Count)]
public struct FaceKeypoints
{
    public const int Count = 6;
    public const int RightEye = 0, LeftEye = 1, Nose = 2, Mouth = 3, RightEar = 4, LeftEar = 5;
    private Point2f _first;
}

/// <summary>A face found in a frame, in frame pixels: box, confidence, keypoints. A value type, so lists of them are reused without allocating.</summary>
public struct FaceDetection
{
    public Rect2f Box;
    public float Score;
    public FaceKeypoints Keypoints;

    public FaceDetection(Rect2f box, float score, ReadOnlySpan<Point2f> keypoints)
    {
        Box = box;
        Score = score;
        keypoints.CopyTo(Keypoints);
    }

    public readonly override string ToString() => $"{Score:F2} at {Box.X:F0},{Box.Y:F0} {Box.Width:F0}x{Box.Height:F0}";
}
