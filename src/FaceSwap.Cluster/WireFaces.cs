using FaceSwap.Contracts;
using FaceSwap.Faces.Detection;
using OpenCvSharp;

namespace FaceSwap.Cluster;

/// <summary>Detections and tracks to and from the wire's <see cref="FaceBox"/>.</summary>
public static class WireFaces
{
    public static FaceBox ToWire(in FaceDetection detection, float scale = 1)
    {
        var keypoints = new float[2 * FaceKeypoints.Count];
        for (var i = 0; i < FaceKeypoints.Count; i++)
        {
            keypoints[2 * i] = detection.Keypoints[i].X * scale;
            keypoints[2 * i + 1] = detection.Keypoints[i].Y * scale;
        }
        var box = detection.Box;
        return new FaceBox(box.X * scale, box.Y * scale, box.Width * scale, box.Height * scale, detection.Score, keypoints);
    }

    /// <exception cref="ArgumentException">the box is not finite and positive, or its keypoints are not six x, y pairs</exception>
    public static FaceDetection FromWire(FaceBox face)
    {
        if (!float.IsFinite(face.X) || !float.IsFinite(face.Y) || !(face.Width > 0) || !(face.Height > 0) || !float.IsFinite(face.Width) || !float.IsFinite(face.Height))
            throw new ArgumentException($"face box {face.X},{face.Y} {face.Width}x{face.Height} is not a finite, positive box");
        if (face.Keypoints is null || face.Keypoints.Length != 2 * FaceKeypoints.Count)
            throw new ArgumentException($"face box has {face.Keypoints?.Length ?? 0} keypoint values, expected {2 * FaceKeypoints.Count}");
        Span<Point2f> points = stackalloc Point2f[FaceKeypoints.Count];
        for (var i = 0; i < points.Length; i++) points[i] = new Point2f(face.Keypoints[2 * i], face.Keypoints[2 * i + 1]);
        return new FaceDetection(new Rect2f(face.X, face.Y, face.Width, face.Height), face.Score, points);
    }

    public static FaceBox Box(Rect2f box, float score) => new(box.X, box.Y, box.Width, box.Height, score, []);
}
