using FaceSwap.Contracts;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// What a simulated worker answers in place of the models' results: a face box where a face would be, and a
/// "swapped" patch (the region's own pixels, inverted, so a simulated output is never mistaken for a real swap) with
/// an elliptic mask, encoded as the real swap encodes them, so the wire and the edge's composite carry real bytes.
/// </summary>
public static class SyntheticFaces
{
    /// <summary>The face's side per shorter frame side: a person at a webcam.</summary>
    public const float FaceShare = 0.3f;

    /// <summary>ArcFace's five-point template (insightface's arcface_dst, for 112×112): where the patch's points go.</summary>
    private static readonly float[] Template112 = [38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f, 71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f];

    /// <summary>One face in the middle of a <paramref name="width"/>×<paramref name="height"/> frame.</summary>
    public static FaceBox Centred(float width, float height)
    {
        var side = FaceShare * Math.Min(width, height);
        return new FaceBox((width - side) / 2, (height - side) / 2, side, side, 0.9f, []);
    }

    /// <summary>The face inside a region the edge sent around it: the region's centre, its side over the edge's track scale.</summary>
    public static Rect FaceIn(int regionWidth, int regionHeight, float regionPerFace)
    {
        var side = Math.Max(1, (int)(Math.Min(regionWidth, regionHeight) / regionPerFace));
        return new Rect((regionWidth - side) / 2, (regionHeight - side) / 2, side, side);
    }

    /// <summary>The patch for <paramref name="face"/> of <paramref name="region"/> (at <paramref name="x"/>, <paramref name="y"/> in the frame), with <paramref name="mask"/> for its size.</summary>
    public static FacePatch Patch(Mat region, Rect face, int x, int y, EncodedImage mask, int quality)
    {
        using var pixels = region[face];
        using var swapped = new Mat();
        Cv2.BitwiseNot(pixels, swapped);
        var scale = face.Width / 112f;
        return new FacePatch(x + face.X, y + face.Y, WireImages.Jpeg(swapped, quality), mask, [.. Template112.Select(v => v * scale)]);
    }

    /// <summary>An elliptic mask filling a <paramref name="width"/>×<paramref name="height"/> patch, PNG as the swap sends it.</summary>
    public static EncodedImage Mask(int width, int height)
    {
        using var mask = new Mat(height, width, MatType.CV_8UC1, Scalar.All(0));
        Cv2.Ellipse(mask, new Point(width / 2, height / 2), new Size(Math.Max(1, width * 9 / 20), Math.Max(1, height / 2 - 1)), 0, 0, 360, Scalar.All(255), -1);
        return WireImages.Png(mask);
    }
}
