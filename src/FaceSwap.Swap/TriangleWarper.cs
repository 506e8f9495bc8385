using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>
/// Piecewise-affine warp over the face mesh: every triangle of the destination mesh is filled with the pixels of
/// the same triangle in the source image (bilinear). Triangles that face away in the destination (their winding
/// flips against the source's) are skipped, so a turned head does not smear its far cheek over its near one.
/// Managed and allocation-free; writes BGR pixels and a coverage mask.
/// </summary>
public static class TriangleWarper
{
    /// <param name="source">8-bit BGR image the source mesh lies on</param>
    /// <param name="sourceMesh">the mesh in <paramref name="source"/> pixels</param>
    /// <param name="destinationMesh">the mesh in <paramref name="destination"/> pixels</param>
    /// <param name="destination">8-bit BGR image to fill</param>
    /// <param name="coverage">8-bit mask, set to 255 where a pixel was written</param>
    public static unsafe void Warp(Mat source, ReadOnlySpan<Point2f> sourceMesh, Mat destination, ReadOnlySpan<Point2f> destinationMesh, Mat coverage)
    {
        if (source.Type() != MatType.CV_8UC3 || destination.Type() != MatType.CV_8UC3 || coverage.Type() != MatType.CV_8UC1)
            throw new ArgumentException("source and destination must be 8-bit BGR, coverage 8-bit single-channel");
        int sw = source.Width, sh = source.Height, dw = destination.Width, dh = destination.Height;
        if (coverage.Width != dw || coverage.Height != dh) throw new ArgumentException("coverage must have the destination's size");
        var src = (byte*)source.Data;
        var dst = (byte*)destination.Data;
        var cov = (byte*)coverage.Data;
        long srcStride = source.Step(), dstStride = destination.Step(), covStride = coverage.Step();
        var triangles = MeshTopology.Triangles;
        for (var t = 0; t < triangles.Length; t += 3)
        {
            Point2f d0 = destinationMesh[triangles[t]], d1 = destinationMesh[triangles[t + 1]], d2 = destinationMesh[triangles[t + 2]];
            Point2f s0 = sourceMesh[triangles[t]], s1 = sourceMesh[triangles[t + 1]], s2 = sourceMesh[triangles[t + 2]];
            var area = Cross(d0, d1, d2);
            var sourceArea = Cross(s0, s1, s2);
            if (MathF.Abs(area) < 1e-3f || area * sourceArea <= 0) continue; // degenerate, or facing away
            var inverse = 1 / area;
            int x0 = Math.Max(0, (int)MathF.Floor(Min(d0.X, d1.X, d2.X))), x1 = Math.Min(dw - 1, (int)MathF.Ceiling(Max(d0.X, d1.X, d2.X)));
            int y0 = Math.Max(0, (int)MathF.Floor(Min(d0.Y, d1.Y, d2.Y))), y1 = Math.Min(dh - 1, (int)MathF.Ceiling(Max(d0.Y, d1.Y, d2.Y)));
            for (var y = y0; y <= y1; y++)
            {
                var py = y + 0.5f;
                var dstRow = dst + y * dstStride;
                var covRow = cov + y * covStride;
                for (var x = x0; x <= x1; x++)
                {
                    var p = new Point2f(x + 0.5f, py);
                    // Barycentric weights; a small tolerance closes the seams between neighbouring triangles.
                    var w0 = Cross(d1, d2, p) * inverse;
                    var w1 = Cross(d2, d0, p) * inverse;
                    var w2 = 1 - w0 - w1;
                    if (w0 < -1e-4f || w1 < -1e-4f || w2 < -1e-4f) continue;
                    var sx = w0 * s0.X + w1 * s1.X + w2 * s2.X - 0.5f;
                    var sy = w0 * s0.Y + w1 * s1.Y + w2 * s2.Y - 0.5f;
                    Sample(src, srcStride, sw, sh, sx, sy, dstRow + x * 3);
                    covRow[x] = 255;
                }
            }
        }
    }

    private static float Cross(Point2f a, Point2f b, Point2f c) => (b.X - a.X) * (c.Y - a.Y) - (b.Y - a.Y) * (c.X - a.X);
    private static float Min(float a, float b, float c) => MathF.Min(a, MathF.Min(b, c));
    private static float Max(float a, float b, float c) => MathF.Max(a, MathF.Max(b, c));

    private static unsafe void Sample(byte* src, long stride, int width, int height, float x, float y, byte* output)
    {
        x = Math.Clamp(x, 0, width - 1.001f);
        y = Math.Clamp(y, 0, height - 1.001f);
        int ix = (int)x, iy = (int)y;
        float fx = x - ix, fy = y - iy;
        var p00 = src + iy * stride + ix * 3;
        var p10 = p00 + 3;
        var p01 = p00 + stride;
        var p11 = p01 + 3;
        for (var c = 0; c < 3; c++)
        {
            var top = p00[c] + (p10[c] - p00[c]) * fx;
            var bottom = p01[c] + (p11[c] - p01[c]) * fx;
            output[c] = (byte)(top + (bottom - top) * fy + 0.5f);
        }
    }
}
