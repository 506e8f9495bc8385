namespace FaceSwap.Vision;

/// <summary>
/// Warps BGR pixels through an affine map straight into a model's NHWC RGB float input, normalised as
/// value × scale + offset: crop, rotate, resize and normalise in one pass with no intermediate image and no
/// allocation. Bilinear, like tf.image.resizeBilinear (which the TF.js pipelines use); outside the image is black.
/// </summary>
public static class AffineSampler
{
    /// <param name="toImage">maps an output pixel centre (x + 0.5, y + 0.5) to image coordinates (pixel centres at +0.5)</param>
    public static unsafe void SampleRgb(BgrImage image, Affine2D toImage, Span<float> destination, int width, int height, float scale, float offset)
    {
        if (destination.Length < width * height * 3)
            throw new ArgumentException($"destination holds {destination.Length} floats, {width}x{height}x3 are needed", nameof(destination));
        var pixels = (byte*)image.Data;
        float black = offset;
        for (var y = 0; y < height; y++)
        {
            var row = destination.Slice(y * width * 3, width * 3);
            // Source position of this row's first pixel centre, then step by the map's x column.
            var sx = toImage.A * 0.5f + toImage.B * (y + 0.5f) + toImage.Tx - 0.5f;
            var sy = toImage.C * 0.5f + toImage.D * (y + 0.5f) + toImage.Ty - 0.5f;
            for (var x = 0; x < width; x++, sx += toImage.A, sy += toImage.C)
            {
                var x0 = (int)MathF.Floor(sx);
                var y0 = (int)MathF.Floor(sy);
                if (x0 < -1 || y0 < -1 || x0 >= image.Width || y0 >= image.Height)
                {
                    row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = black;
                    continue;
                }
                float fx = sx - x0, fy = sy - y0;
                float b = 0, g = 0, r = 0;
                Accumulate(pixels, image, x0, y0, (1 - fx) * (1 - fy), ref b, ref g, ref r);
                Accumulate(pixels, image, x0 + 1, y0, fx * (1 - fy), ref b, ref g, ref r);
                Accumulate(pixels, image, x0, y0 + 1, (1 - fx) * fy, ref b, ref g, ref r);
                Accumulate(pixels, image, x0 + 1, y0 + 1, fx * fy, ref b, ref g, ref r);
                row[3 * x] = r * scale + offset;
                row[3 * x + 1] = g * scale + offset;
                row[3 * x + 2] = b * scale + offset;
            }
        }
    }

    private static unsafe void Accumulate(byte* pixels, BgrImage image, int x, int y, float weight, ref float b, ref float g, ref float r)
    {
        if ((uint)x >= (uint)image.Width || (uint)y >= (uint)image.Height || weight == 0) return;
        var p = pixels + (long)y * image.Stride + x * 3;
        b += p[0] * weight;
        g += p[1] * weight;
        r += p[2] * weight;
    }
}
