using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>What a fail-mode frame shows, per <see cref="FailMode"/>.</summary>
public static class FailModes
{
    /// <summary>
    /// Renders <paramref name="frame"/> in place. Blur covers the last known face regions (grown, since the face
    /// may have moved), or the whole frame while none is known; Hold copies the last swapped frame; Passthrough leaves it.
    /// </summary>
    public static void Render(FailMode mode, Mat frame, IReadOnlyList<Rect> faces, Mat? lastSwapped)
    {
        switch (mode)
        {
            case FailMode.Hold when lastSwapped is not null && lastSwapped.Size() == frame.Size():
                lastSwapped.CopyTo(frame);
                break;
            case FailMode.Passthrough:
                break;
            default:
                // Hold with nothing swapped yet falls back to blur: the real face is never the fallback.
                Blur(frame, faces);
                break;
        }
    }

    public static void Blur(Mat frame, IReadOnlyList<Rect> faces)
    {
        var whole = new Rect(0, 0, frame.Width, frame.Height);
        var regions = faces.Count == 0 ? [whole] : faces.Select(f => Rect.Intersect(Grow(f, 0.25), whole)).Where(r => r.Width > 0 && r.Height > 0).ToList();
        foreach (var region in regions)
        {
            using var roi = frame[region];
            // A kernel a third of the region wide leaves no identity, and a pixelated pass first keeps it cheap on large faces.
            var small = new Size(Math.Max(1, region.Width / 16), Math.Max(1, region.Height / 16));
            using var tiny = new Mat();
            Cv2.Resize(roi, tiny, small, interpolation: InterpolationFlags.Area);
            Cv2.Resize(tiny, roi, region.Size, interpolation: InterpolationFlags.Linear);
            var k = Math.Max(3, (Math.Min(region.Width, region.Height) / 6) | 1);
            Cv2.GaussianBlur(roi, roi, new Size(k, k), 0);
        }
    }

    private static Rect Grow(Rect r, double by)
    {
        var dx = (int)(r.Width * by / 2);
        var dy = (int)(r.Height * by / 2);
        return new Rect(r.X - dx, r.Y - dy, r.Width + 2 * dx, r.Height + 2 * dy);
    }
}
