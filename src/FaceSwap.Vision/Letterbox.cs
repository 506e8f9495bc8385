using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>
/// How an image was fitted into a square model input: scaled to fit, centred, padded with black.
/// Maps model-input coordinates back to the image.
/// </summary>
public readonly record struct Letterbox(float Scale, float PadX, float PadY, int Size)
{
    public static Letterbox For(Size image, int size)
    {
        var scale = Math.Min((float)size / image.Width, (float)size / image.Height);
        return new Letterbox(scale, (size - image.Width * scale) / 2f, (size - image.Height * scale) / 2f, size);
    }

    /// <summary>Draws <paramref name="image"/> into <paramref name="destination"/> (Size × Size, same type), black around it.</summary>
    public void Apply(Mat image, Mat destination)
    {
        destination.SetTo(Scalar.Black);
        var width = Math.Max(1, (int)Math.Round(image.Width * Scale));
        var height = Math.Max(1, (int)Math.Round(image.Height * Scale));
        var roi = new Rect((int)Math.Round(PadX), (int)Math.Round(PadY), Math.Min(width, Size), Math.Min(height, Size));
        using var view = destination[roi];
        Cv2.Resize(image, view, roi.Size, 0, 0, Scale < 1 ? InterpolationFlags.Area : InterpolationFlags.Linear);
    }

    public Point2f ToImage(float x, float y) => new((x - PadX) / Scale, (y - PadY) / Scale);
}
