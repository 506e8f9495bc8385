using FaceSwap.Inference.Models;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap.Evaluation;

/// <summary>The camera-like frame that the harness, the tests and the benchmarks share.</summary>
public static class StillFrames
{
    /// <summary>scikit-image's astronaut (scripts/fetch-skimage-data.sh) letterboxed into 640×480: one face, as a webcam frame.</summary>
    public static Mat Astronaut640x480()
    {
        using var astronaut = ImageFile.ReadBgr(Path.Combine(RepositoryPaths.Root, ".cache", "skimage", "astronaut.png"));
        var frame = new Mat(480, 640, MatType.CV_8UC3, Scalar.All(0));
        using var resized = astronaut.Resize(new Size(480, 480));
        resized.CopyTo(frame[new Rect(80, 0, 480, 480)]);
        return frame;
    }
}
