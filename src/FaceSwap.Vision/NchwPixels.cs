using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>
/// A square BGR crop to and from a model's planar RGB tensor (NCHW, batch 1): value = pixel · scale + offset, and back.
/// The swappers and enhancers of the bring-your-own packs take their crops this way.
/// </summary>
public static class NchwPixels
{
    /// <summary>Fills <paramref name="nchw"/> (3 planes R, G, B) from the 8-bit BGR <paramref name="crop"/>.</summary>
    public static unsafe void FromBgr(Mat crop, Span<float> nchw, float scale, float offset)
    {
        var plane = Check(crop, nchw.Length);
        var (width, height) = (crop.Width, crop.Height);
        for (var y = 0; y < height; y++)
        {
            var p = (byte*)crop.Ptr(y);
            for (var x = 0; x < width; x++, p += 3)
            {
                var i = y * width + x;
                nchw[i] = p[2] * scale + offset;
                nchw[plane + i] = p[1] * scale + offset;
                nchw[2 * plane + i] = p[0] * scale + offset;
            }
        }
    }

    /// <summary>
    /// Writes the planar RGB tensor back into the 8-bit BGR <paramref name="crop"/>: pixel = (value − offset) / scale,
    /// clipped to [0, 255], rounded to nearest or truncated (numpy's astype) as the reference implementation does.
    /// </summary>
    public static unsafe void ToBgr(ReadOnlySpan<float> nchw, Mat crop, float scale, float offset, bool round)
    {
        var plane = Check(crop, nchw.Length);
        var (width, height) = (crop.Width, crop.Height);
        var bias = round ? 0.5f : 0f;
        for (var y = 0; y < height; y++)
        {
            var p = (byte*)crop.Ptr(y);
            for (var x = 0; x < width; x++, p += 3)
            {
                var i = y * width + x;
                p[0] = Pixel(nchw[2 * plane + i], scale, offset, bias);
                p[1] = Pixel(nchw[plane + i], scale, offset, bias);
                p[2] = Pixel(nchw[i], scale, offset, bias);
            }
        }
    }

    private static byte Pixel(float value, float scale, float offset, float bias) => (byte)Math.Clamp((value - offset) / scale + bias, 0f, 255f);

    private static int Check(Mat crop, int length)
    {
        if (crop.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR crop, got {crop.Type()}", nameof(crop));
        var plane = crop.Width * crop.Height;
        if (length < 3 * plane) throw new ArgumentException($"the tensor holds {length} values; a {crop.Width}x{crop.Height} crop needs {3 * plane}");
        return plane;
    }
}
