using FaceSwap.Faces.Detection;
using FaceSwap.Vision;

namespace FaceSwap.Faces.Landmarks;

/// <summary>Fits FaceMesh to one face: the <see cref="Landmarker"/> in process, a stream's handle on the worker's batcher in the cluster.</summary>
public interface ILandmarkFitter
{
    void Process(BgrImage frame, in FaceDetection face, FaceLandmarks result);
}
