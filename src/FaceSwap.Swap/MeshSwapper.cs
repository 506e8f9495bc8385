using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>
/// The built-in swap, with the default pack only: the source face's texture is warped triangle by triangle onto
/// the target's mesh, its colour matched to the target's skin, and blended in through a feathered face-oval mask
/// that leaves the target's eyes and mouth opening in place. Akka-free; one instance per stream.
/// </summary>
public sealed class MeshSwapper(SwapOptions? options = null) : IFaceSwapper
{
    public SwapOptions Options { get; } = options ?? new SwapOptions();

    void IFaceSwapper.Swap(Mat frame, SourceFace source, ReadOnlySpan<Point3f> targetMesh) => Swap(frame, source, targetMesh);

    /// <summary>Swaps <paramref name="source"/> onto the face whose mesh is <paramref name="targetMesh"/>, in place.</summary>
    /// <returns>the region of the frame that changed</returns>
    public Rect Swap(Mat frame, SourceFace source, ReadOnlySpan<Point3f> targetMesh)
    {
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"frame must be 8-bit BGR, got {frame.Type()}");
        var oval = MeshTopology.Polygon(targetMesh, MeshTopology.FaceOval);
        var bounds = Cv2.BoundingRect(oval);
        var faceSize = Math.Max(bounds.Width, bounds.Height);
        var margin = (int)(faceSize * Options.Feather) + 2;
        var roi = Rect.Intersect(new Rect(bounds.X - margin, bounds.Y - margin, bounds.Width + 2 * margin, bounds.Height + 2 * margin), new Rect(0, 0, frame.Width, frame.Height));
        if (roi.Width < 4 || roi.Height < 4) return default;

        var destination = new Point2f[targetMesh.Length];
        for (var i = 0; i < targetMesh.Length; i++) destination[i] = new Point2f(targetMesh[i].X - roi.X, targetMesh[i].Y - roi.Y);
        if (Options.ShapeTransfer > 0) MoveTowardSource(destination, source.Mesh, Options.ShapeTransfer);
        using var target = frame[roi];
        using var warped = target.Clone();
        using var coverage = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        TriangleWarper.Warp(source.Texture, source.Mesh, warped, destination, coverage);

        using var mask = FaceMask(destination, roi.Size, coverage, faceSize);
        if (Options.Color == ColorTransfer.LabStatistics) MatchColour(warped, target, mask);

        switch (Options.Blend)
        {
            case BlendMode.Seamless:
                BlendSeamless(frame, roi, warped, mask);
                break;
            default:
                BlendFeathered(target, warped, mask, faceSize);
                break;
        }
        return roi;
    }

    /// <summary>Moves the inner points toward the source's, aligned onto the target by a least-squares similarity.</summary>
    private static void MoveTowardSource(Point2f[] destination, Point2f[] source, float amount)
    {
        var toTarget = FaceSwap.Faces.Alignment.Aligner.Similarity(source, destination);
        var outline = new bool[destination.Length];
        foreach (var i in MeshTopology.FaceOval) outline[i] = true;
        for (var i = 0; i < destination.Length; i++)
        {
            if (outline[i]) continue;
            var s = toTarget.Apply(source[i]);
            destination[i] = new Point2f(destination[i].X + amount * (s.X - destination[i].X), destination[i].Y + amount * (s.Y - destination[i].Y));
        }
    }

    /// <summary>The face oval where the warp reached, less the eye and mouth openings (slightly widened).</summary>
    private Mat FaceMask(Point2f[] mesh, Size size, Mat coverage, int faceSize)
    {
        var mask = new Mat(size, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(mask, [MeshTopology.Polygon(mesh, MeshTopology.FaceOval)], Scalar.All(255));
        Cv2.BitwiseAnd(mask, coverage, mask);
        if (Options.KeepEyesAndMouth)
        {
            using var openings = new Mat(size, MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillPoly(openings, [MeshTopology.Polygon(mesh, MeshTopology.RightEye), MeshTopology.Polygon(mesh, MeshTopology.LeftEye), MeshTopology.Polygon(mesh, MeshTopology.MouthOpening)], Scalar.All(255));
            var grow = Math.Max(1, faceSize / 60);
            using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * grow + 1, 2 * grow + 1));
            Cv2.Dilate(openings, openings, kernel);
            Cv2.Subtract(mask, openings, mask);
        }
        return mask;
    }

    /// <summary>Reinhard colour transfer inside the mask: each L*a*b* channel of the warped face takes the target skin's mean and spread.</summary>
    private static void MatchColour(Mat warped, Mat target, Mat mask)
    {
        if (Cv2.CountNonZero(mask) < 16) return;
        using var warpedLab = new Mat();
        using var targetLab = new Mat();
        Cv2.CvtColor(warped, warpedLab, ColorConversionCodes.BGR2Lab);
        Cv2.CvtColor(target, targetLab, ColorConversionCodes.BGR2Lab);
        Cv2.MeanStdDev(warpedLab, out var sourceMean, out var sourceStd, mask);
        Cv2.MeanStdDev(targetLab, out var targetMean, out var targetStd, mask);
        using var floatLab = new Mat();
        warpedLab.ConvertTo(floatLab, MatType.CV_32FC3);
        var channels = floatLab.Split();
        for (var c = 0; c < 3; c++)
        {
            var gain = sourceStd[c] > 1e-3 ? targetStd[c] / sourceStd[c] : 1;
            channels[c].ConvertTo(channels[c], MatType.CV_32FC1, gain, targetMean[c] - sourceMean[c] * gain);
        }
        Cv2.Merge(channels, floatLab);
        foreach (var channel in channels) channel.Dispose();
        floatLab.ConvertTo(warpedLab, MatType.CV_8UC3);
        Cv2.CvtColor(warpedLab, warped, ColorConversionCodes.Lab2BGR);
    }

    private void BlendFeathered(Mat target, Mat warped, Mat mask, int faceSize)
    {
        var feather = Math.Max(1, (int)(faceSize * Options.Feather));
        using var alpha = new Mat();
        // Erode first so the feathered edge stays inside the face oval instead of spilling half outside it.
        using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(feather + 1, feather + 1));
        Cv2.Erode(mask, alpha, kernel);
        Cv2.GaussianBlur(alpha, alpha, new Size(0, 0), feather / 2.0);
        using var alphaF = new Mat();
        alpha.ConvertTo(alphaF, MatType.CV_32FC1, 1 / 255.0);
        using var inverse = new Mat();
        Cv2.Subtract(Scalar.All(1), alphaF, inverse);
        using var blended = new Mat();
        Cv2.BlendLinear(warped, target, alphaF, inverse, blended);
        blended.CopyTo(target);
    }

    private static void BlendSeamless(Mat frame, Rect roi, Mat warped, Mat mask)
    {
        // SeamlessClone needs the mask away from the patch's border.
        using var inner = new Mat();
        Cv2.Erode(mask, inner, null, iterations: 2);
        var box = Cv2.BoundingRect(inner);
        if (box.Width < 3 || box.Height < 3) return;
        using var patch = warped[box];
        using var patchMask = inner[box];
        using var result = new Mat();
        var centre = new Point(roi.X + box.X + box.Width / 2, roi.Y + box.Y + box.Height / 2);
        Cv2.SeamlessClone(patch, frame, patchMask, centre, result, SeamlessCloneFlags.NormalClone);
        result.CopyTo(frame);
    }
}
