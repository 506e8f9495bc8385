using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>
/// A square BGR crop to and from a model's planar RGB tensor (NCHW, batch 1): value = pixel · scale + offset, and back.
/// The swappers and enhancers of the bring-your-own packs take their crops this way.
/// </summary>
public static class NchwPixels
{
    /// <summary>Fills <paramref name="nchw"/> (3 planes R, G, B) from the 8-bit BGR <paramref name="crop"/>.</summary>
    public static void FromBgr(Mat crop, Span<float> nchw, float scale, float offset) =>
        FromBgr(crop, nchw, [scale, scale, scale], [offset, offset, offset]);

    /// <summary>As above with a scale and an offset per channel, in R, G, B order (e.g. ImageNet's mean and deviation).</summary>
    public static unsafe void FromBgr(Mat crop, Span<float> nchw, ReadOnlySpan<float> scaleRgb, ReadOnlySpan<float> offsetRgb)
    {
        var plane = Check(crop, nchw.Length);
        if (scaleRgb.Length != 3 || offsetRgb.Length != 3) throw new ArgumentException("one scale and one offset per channel (R, G, B)");
        float sr = scaleRgb[0], sg = scaleRgb[1], sb = scaleRgb[2], or = offsetRgb[0], og = offsetRgb[1], ob = offsetRgb[2];
        var (width, height) = (crop.Width, crop.Height);
        for (var y = 0; y < height; y++)
        {
            var p = (byte*)crop.Ptr(y);
            for (var x = 0; x < width; x++, p += 3)
            {
                var i = y * width + x;
                nchw[i] = p[2] * sr + or;
                nchw[plane + i] = p[1] * sg + og;
                nchw[2 * plane + i] = p[0] * sb + ob;
            }
        }
    }

    /// <summary>
    /// Writes the planar RGB tensor back into the 8-bit BGR <paramref name="crop"/>: pixel = value · gain + bias, clipped
    /// to [0, 255], then rounded half to even (numpy's round) or truncated (numpy's astype) as the reference does.
    /// </summary>
    public static unsafe void ToBgr(ReadOnlySpan<float> nchw, Mat crop, float gain, float bias, bool round)
    {
        var plane = Check(crop, nchw.Length);
        var (width, height) = (crop.Width, crop.Height);
        for (var y = 0; y < height; y++)
        {
            var p = (byte*)crop.Ptr(y);
            for (var x = 0; x < width; x++, p += 3)
            {
                var i = y * width + x;
                p[0] = Pixel(nchw[2 * plane + i], gain, bias, round);
                p[1] = Pixel(nchw[plane + i], gain, bias, round);
                p[2] = Pixel(nchw[i], gain, bias, round);
            }
        }
    }

    private static byte Pixel(float value, float gain, float bias, bool round)
    {
        var pixel = Math.Clamp(value * gain + bias, 0f, 255f);
        return (byte)(round ? MathF.Round(pixel, MidpointRounding.ToEven) : pixel);
    }

    private static int Check(Mat crop, int length)
    {
        if (crop.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR crop, got {crop.Type()}", nameof(crop));
        var plane = crop.Width * crop.Height;
        if (length < 3 * plane) throw new ArgumentException($"the tensor holds {length} values; a {crop.Width}x{crop.Height} crop needs {3 * plane}");
        return plane;
    }
}
