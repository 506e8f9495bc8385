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
        // The header first: a payload whose header claims 30000×30000 would have the decoder allocate gigabytes
        // before the size check below could refuse it.
        if (ImageHeader.Read(data) is not { } header)
            throw new ImageCodecException($"{what}: {data.Length} bytes are not a JPEG or PNG image (no readable header)");
        if (header.Width != width || header.Height != height)
            throw new ImageCodecException($"{what}: the {header.Format} header says {header.Width}x{header.Height}, the message says {width}x{height}");
        if (header.Format == "PNG" && PngProblem(data) is { } problem)
            throw new ImageCodecException($"{what}: {problem}");
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

    /// <summary>
    /// A PNG's chunks, walked before decoding: each must fit in the payload, up to IEND. A 213-byte PNG whose IDAT
    /// claimed 4 GiB kept libpng busy for 14 s (ImageDecoderFuzzTests); a worker must not be stalled by one message.
    /// </summary>
    private static string? PngProblem(ReadOnlySpan<byte> data)
    {
        var at = 8;
        while (at + 12 <= data.Length)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data[at..]);
            if (length > (uint)(data.Length - at - 12))
                return $"a PNG chunk at byte {at} claims {length} bytes, more than the {data.Length}-byte payload holds";
            if (data.Slice(at + 4, 4).SequenceEqual("IEND"u8)) return null;
            at += 12 + (int)length;
        }
        return "the PNG ends before its IEND chunk (truncated)";
    }
}
