using OpenCvSharp;

namespace FaceSwap.Vision.Marks;

public enum LabelCorner
{
    BottomRight,
    BottomLeft,
    TopRight,
    TopLeft,
}

/// <summary>The visible label's settings. Only the config file turns it off, and a session with it off is audited.</summary>
public sealed record LabelOptions
{
    public bool Enabled { get; init; } = true;
    public string Text { get; init; } = VisibleLabel.DefaultText;
    public LabelCorner Corner { get; init; } = LabelCorner.BottomRight;
    /// <summary>Size relative to the default (text about 3 % of the frame's height).</summary>
    public double Scale { get; init; } = 1.0;

    public LabelOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Text)) throw new ArgumentException("the label text must not be empty (turn the label off with enabled = off instead)");
        if (Text.Any(c => c < 32 || c > 126)) throw new ArgumentException($"the label text '{Text}' must be printable ASCII: the label font has no other glyphs");
        if (!(Scale is >= 0.25 and <= 4)) throw new ArgumentException($"the label scale {Scale} must be between 0.25 and 4");
        return this;
    }
}

/// <summary>
/// The visible mark every output frame carries: a short text ("AI-generated") on a dark plate in a corner, sized
/// to the frame so it stays legible from thumbnails to 4K.
/// </summary>
public static class VisibleLabel
{
    public const string DefaultText = "AI-generated";

    public static void Apply(Mat frame, LabelOptions? options = null)
    {
        options ??= new LabelOptions();
        if (!options.Enabled) return;
        var scale = Math.Max(0.4, frame.Height / 720.0 * 0.8) * options.Scale;
        var thickness = Math.Max(1, (int)Math.Round(scale * 2));
        var size = Cv2.GetTextSize(options.Text, HersheyFonts.HersheySimplex, scale, thickness, out var baseline);
        var pad = Math.Max(4, size.Height / 2);
        int width = size.Width + 2 * pad, height = size.Height + baseline + 2 * pad;
        var left = options.Corner is LabelCorner.BottomLeft or LabelCorner.TopLeft;
        var top = options.Corner is LabelCorner.TopLeft or LabelCorner.TopRight;
        var plate = new Rect(left ? pad : frame.Width - width - pad, top ? pad : frame.Height - height - pad, width, height) & new Rect(0, 0, frame.Width, frame.Height);
        using (var region = frame[plate])
        using (var dark = new Mat(region.Size(), region.Type(), Scalar.All(0)))
            Cv2.AddWeighted(region, 0.35, dark, 0.65, 0, region);
        Cv2.PutText(frame, options.Text, new Point(plate.X + pad, plate.Bottom - pad - baseline), HersheyFonts.HersheySimplex, scale, Scalar.White, thickness, LineTypes.AntiAlias);
    }
}
