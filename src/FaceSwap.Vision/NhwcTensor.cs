using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>Writes 8-bit BGR pixels into a model's NHWC RGB float input, normalised as value × scale + offset.</summary>
public static class NhwcTensor
{
    public static unsafe void WriteRgb(Mat bgr, Span<float> destination, float scale, float offset)
    {
        if (bgr.Type() != MatType.CV_8UC3)
            throw new ArgumentException($"expected an 8-bit BGR image, got {bgr.Type()}", nameof(bgr));
        int width = bgr.Width, height = bgr.Height;
        var count = width * height;
        if (destination.Length < count * 3)
            throw new ArgumentException($"destination holds {destination.Length} floats, the image needs {count * 3}", nameof(destination));
        for (var y = 0; y < height; y++)
        {
            var row = (byte*)bgr.Ptr(y);
            var output = destination.Slice(y * width * 3, width * 3);
            for (var x = 0; x < width; x++)
            {
                output[3 * x] = row[3 * x + 2] * scale + offset;
                output[3 * x + 1] = row[3 * x + 1] * scale + offset;
                output[3 * x + 2] = row[3 * x] * scale + offset;
            }
        }
    }
}
