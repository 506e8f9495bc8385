using FaceSwap.Faces.Landmarks;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Alignment;

/// <summary>
/// Five points from the mesh and the similarity transform that puts them on the ArcFace template, the alignment
/// that ArcFace, inswapper and most face-identity models expect.
/// </summary>
public static class Aligner
{
    /// <summary>
    /// ArcFace's 112×112 template (insightface, python-package/insightface/utils/face_align.py, arcface_dst):
    /// image-left eye, image-right eye, nose tip, image-left and image-right mouth corners.
    /// </summary>
    public static readonly Point2f[] ArcFace112 =
    [
        new(38.2946f, 51.6963f), new(73.5318f, 51.5014f), new(56.0252f, 71.7366f), new(41.5493f, 92.3655f), new(70.7299f, 92.2041f),
    ];

    /// <summary>The template for a square crop of <paramref name="size"/>, as insightface's estimate_norm builds it.</summary>
    public static Point2f[] Template(int size)
    {
        // Multiples of 112 scale the template; others (128, inswapper) scale by size/128 and shift 8·ratio in x.
        var (ratio, shift) = size % 112 == 0 ? (size / 112f, 0f) : (size / 128f, 8f * size / 128f);
        return ArcFace112.Select(p => new Point2f(p.X * ratio + shift, p.Y * ratio)).ToArray();
    }

    // MediaPipe face mesh (canonical_face_model) indices; "right" is the person's right, image left.
    private static readonly int[] RightEyeRing = [33, 160, 158, 133, 153, 144];
    private static readonly int[] LeftEyeRing = [362, 385, 387, 263, 373, 380];
    private const int NoseTip = 1, MouthRightCorner = 61, MouthLeftCorner = 291;

    /// <summary>Eye centres, nose tip and mouth corners in the template's order (image-left first).</summary>
    public static void FivePoints(ReadOnlySpan<Point3f> mesh, Span<Point2f> five)
    {
        if (mesh.Length < FaceLandmarks.Count) throw new ArgumentException($"a face mesh has {FaceLandmarks.Count} points, got {mesh.Length}");
        five[0] = Centre(mesh, RightEyeRing);
        five[1] = Centre(mesh, LeftEyeRing);
        five[2] = new Point2f(mesh[NoseTip].X, mesh[NoseTip].Y);
        five[3] = new Point2f(mesh[MouthRightCorner].X, mesh[MouthRightCorner].Y);
        five[4] = new Point2f(mesh[MouthLeftCorner].X, mesh[MouthLeftCorner].Y);
    }

    private static Point2f Centre(ReadOnlySpan<Point3f> mesh, int[] ring)
    {
        float x = 0, y = 0;
        foreach (var i in ring) { x += mesh[i].X; y += mesh[i].Y; }
        return new Point2f(x / ring.Length, y / ring.Length);
    }

    /// <summary>
    /// Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping <paramref name="from"/>
    /// onto <paramref name="to"/>: Umeyama's estimate, in its closed complex-number form for 2-D.
    /// </summary>
    public static Affine2D Similarity(ReadOnlySpan<Point2f> from, ReadOnlySpan<Point2f> to)
    {
        if (from.Length != to.Length || from.Length < 2) throw new ArgumentException("need two or more point pairs");
        float fx = 0, fy = 0, tx = 0, ty = 0;
        for (var i = 0; i < from.Length; i++) { fx += from[i].X; fy += from[i].Y; tx += to[i].X; ty += to[i].Y; }
        fx /= from.Length; fy /= from.Length; tx /= to.Length; ty /= to.Length;
        float norm = 0, p = 0, q = 0;
        for (var i = 0; i < from.Length; i++)
        {
            float ax = from[i].X - fx, ay = from[i].Y - fy, bx = to[i].X - tx, by = to[i].Y - ty;
            norm += ax * ax + ay * ay;
            p += ax * bx + ay * by;
            q += ax * by - ay * bx;
        }
        if (norm < 1e-6f) throw new ArgumentException("the source points coincide: no alignment");
        p /= norm; q /= norm;
        return new Affine2D(p, -q, tx - (p * fx - q * fy), q, p, ty - (q * fx + p * fy));
    }

    /// <summary>The aligned crop as an image (for display, swapping and tests; the embedder samples directly).</summary>
    public static Mat Crop(Mat frame, Affine2D frameToCrop, int size)
    {
        using var matrix = new Mat(2, 3, MatType.CV_32FC1);
        matrix.Set(0, 0, frameToCrop.A); matrix.Set(0, 1, frameToCrop.B); matrix.Set(0, 2, frameToCrop.Tx);
        matrix.Set(1, 0, frameToCrop.C); matrix.Set(1, 1, frameToCrop.D); matrix.Set(1, 2, frameToCrop.Ty);
        var crop = new Mat();
        Cv2.WarpAffine(frame, crop, matrix, new Size(size, size), InterpolationFlags.Linear, BorderTypes.Constant, Scalar.Black);
        return crop;
    }
}
