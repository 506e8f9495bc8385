using FaceSwap.Vision;

namespace FaceSwap.Faces.Detection;

/// <summary>What seeds the landmarker: a box and the two eyes per face. BlazeFace by default; SCRFD when an operator brings it.</summary>
public interface IFaceDetector
{
    /// <summary>Replaces the contents of <paramref name="faces"/> with the faces in <paramref name="frame"/>, best first.</summary>
    void Detect(BgrImage frame, List<FaceDetection> faces);
}
