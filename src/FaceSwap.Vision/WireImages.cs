using FaceSwap.Contracts;
using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>Images to and from the wire's <see cref="EncodedImage"/>: JPEG for pixels, PNG for masks.</summary>
public static class WireImages
{
    public static EncodedImage Jpeg(Mat image, int quality) => new(EncodedImage.Jpeg, image.Width, image.Height, ImageCodec.EncodeJpeg(image, quality));

    public static EncodedImage Png(Mat mask) => new(EncodedImage.Png, mask.Width, mask.Height, ImageCodec.EncodePng(mask));

    /// <summary>Decodes a BGR image (<paramref name="channels"/> 3) or a mask (1), checked against the size the message states.</summary>
    /// <exception cref="ImageCodecException">corrupt payload, unknown codec, or a size other than stated</exception>
    public static Mat Decode(EncodedImage image, int channels, string what)
    {
        if (image.Codec is not (EncodedImage.Jpeg or EncodedImage.Png))
            throw new ImageCodecException($"{what}: unknown codec '{image.Codec}' (expected {EncodedImage.Jpeg} or {EncodedImage.Png})");
        if (image.Width is < 1 or > 16384 || image.Height is < 1 or > 16384)
            throw new ImageCodecException($"{what}: {image.Width}x{image.Height} is not a frame size this service takes");
        return ImageCodec.Decode(image.Data ?? [], image.Width, image.Height, channels, what);
    }
}
