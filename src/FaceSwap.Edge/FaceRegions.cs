using FaceSwap.Contracts;
using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>
/// The full-resolution regions the swap entity gets: around each tracked face (its mesh box, with room for
/// FaceMesh's crop and a frame of motion) and each new detection (the detector's box is tighter), merged where
/// they overlap and clipped to the frame.
/// </summary>
public static class FaceRegions
{
    /// <summary>Region side per mesh-box side: FaceMesh crops about 1.25 times it, plus motion since the box was measured.</summary>
    public const float TrackScale = 2.0f;
    /// <summary>The detector's box is about 1/1.2 of the mesh box, so its region grows more.</summary>
    public const float DetectionScale = 2.4f;

    public static List<Rect> Of(IEnumerable<FaceBox> tracks, IEnumerable<FaceBox>? detections, int width, int height)
    {
        var regions = tracks.Select(t => Around(t, TrackScale, width, height))
            .Concat((detections ?? []).Select(d => Around(d, DetectionScale, width, height)))
            .Where(r => r.Width >= 8 && r.Height >= 8).ToList();
        return Merge(regions);
    }

    private static Rect Around(FaceBox box, float scale, int width, int height)
    {
        var side = Math.Max(box.Width, box.Height) * scale;
        var (cx, cy) = (box.X + box.Width / 2, box.Y + box.Height / 2);
        var left = (int)Math.Floor(cx - side / 2);
        var top = (int)Math.Floor(cy - side / 2);
        return Rect.Intersect(new Rect(left, top, (int)Math.Ceiling(side), (int)Math.Ceiling(side)), new Rect(0, 0, width, height));
    }

    /// <summary>Unions overlapping regions until none overlap: each pixel is sent once.</summary>
    public static List<Rect> Merge(List<Rect> regions)
    {
        var merged = true;
        while (merged)
        {
            merged = false;
            for (var i = 0; i < regions.Count && !merged; i++)
                for (var j = i + 1; j < regions.Count; j++)
                {
                    if (!regions[i].IntersectsWith(regions[j])) continue;
                    regions[i] = regions[i] | regions[j];
                    regions.RemoveAt(j);
                    merged = true;
                    break;
                }
        }
        return regions;
    }
}
