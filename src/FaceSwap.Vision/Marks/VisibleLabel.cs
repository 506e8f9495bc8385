using OpenCvSharp;

namespace FaceSwap.Vision.Marks;

/// <summary>
/// The visible mark every output frame carries: a short text ("AI-generated") on a dark plate in a corner, sized
/// to the frame so it stays legible from thumbnails to 4K.
/// </summary>
public static class VisibleLabel
{
    public const string DefaultText = "AI-generated";

    public static void Apply(Mat frame, string text = DefaultText)
    {
        var scale = Math.Max(0.4, frame.Height / 720.0 * 0.8);
        var thickness = Math.Max(1, (int)Math.Round(scale * 2));
        var size = Cv2.GetTextSize(text, HersheyFonts.HersheySimplex, scale, thickness, out var baseline);
        var pad = Math.Max(4, size.Height / 2);
        var plate = new Rect(frame.Width - size.Width - 3 * pad, frame.Height - size.Height - baseline - 3 * pad, size.Width + 2 * pad, size.Height + baseline + 2 * pad)
            & new Rect(0, 0, frame.Width, frame.Height);
        using (var region = frame[plate])
        using (var dark = new Mat(region.Size(), region.Type(), Scalar.All(0)))
            Cv2.AddWeighted(region, 0.35, dark, 0.65, 0, region);
        Cv2.PutText(frame, text, new Point(plate.X + pad, plate.Bottom - pad - baseline), HersheyFonts.HersheySimplex, scale, Scalar.White, thickness, LineTypes.AntiAlias);
    }
}
