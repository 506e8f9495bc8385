using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

/// <summary>
/// A face found in a frame, in frame pixels: box, confidence, and BlazeFace's six keypoints
/// (right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion; "right" is the person's right).
/// </summary>
public sealed record FaceDetection(Rect2f Box, float Score, Point2f[] Keypoints);
