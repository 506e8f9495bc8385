using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces;

/// <summary>Everything the analysis knows about one face, in frame pixels.</summary>
public sealed record Face(
    FaceDetection Detection,
    FaceLandmarks Landmarks,
    Point2f[] FivePoints,
    Affine2D FrameToArcFace112,
    float[] Embedding);
