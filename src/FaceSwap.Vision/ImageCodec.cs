using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>A compressed image that did not decode: its codec, size, and what to check.</summary>
public sealed class ImageCodecException(string message) : Exception(message);

/// <summary>
/// JPEG for pixels that cross the wire (quality configurable), PNG for masks that must stay exact. Decoding checks
/// what came out, so a corrupt or mislabelled payload fails here with its size, not later inside a model.
/// </summary>
public static class ImageCodec
{
    public const int DefaultJpegQuality = 90;

    public static byte[] EncodeJpeg(Mat image, int quality = DefaultJpegQuality)
    {
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality is 1 to 100");
        return image.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
    }

    /// <summary>PNG at the fastest compression level: masks are mostly flat, so it is still small.</summary>
    public static byte[] EncodePng(Mat image) => image.ImEncode(".png", new ImageEncodingParam(ImwriteFlags.PngCompression, 1));

    /// <summary>Decodes <paramref name="data"/> into an 8-bit image of the expected size and channel count.</summary>
    /// <exception cref="ImageCodecException">the bytes are not an image, or not the one described</exception>
    public static Mat Decode(byte[] data, int width, int height, int channels, string what)
    {
        if (data.Length == 0) throw new ImageCodecException($"{what}: empty payload, expected a {width}x{height} image");
        var mode = channels == 1 ? ImreadModes.Grayscale : ImreadModes.Color;
        var image = Cv2.ImDecode(data, mode);
        if (image.Empty())
        {
            image.Dispose();
            throw new ImageCodecException($"{what}: {data.Length} bytes do not decode as an image (corrupt or truncated payload)");
        }
        if (image.Width != width || image.Height != height)
        {
            var size = $"{image.Width}x{image.Height}";
            image.Dispose();
            throw new ImageCodecException($"{what}: decoded {size}, the message says {width}x{height}");
        }
        return image;
    }
}
