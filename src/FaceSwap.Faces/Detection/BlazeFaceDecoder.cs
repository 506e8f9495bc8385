using OpenCvSharp;
using FaceSwap.Vision;

namespace FaceSwap.Faces.Detection;

/// <summary>
/// Turns BlazeFace (back-camera model, 256×256) outputs into faces: SSD anchors, sigmoid scores, and weighted
/// non-maximum suppression as MediaPipe's TensorsToDetections and NonMaxSuppression(WEIGHTED) calculators do.
/// </summary>
public static class BlazeFaceDecoder
{
    public const int InputSize = 256;
    public const int Regressors = 16; // box centre offset (2), size (2), 6 keypoints (12), in input pixels
    public const int Stride16Anchors = 512, Stride32Anchors = 384;

    /// <summary>Anchor centres in input pixels: stride 16 with 2 anchors per cell, then stride 32 with 6 (Human's generateAnchors).</summary>
    public static readonly Point2f[] Anchors = MakeAnchors();

    private static Point2f[] MakeAnchors()
    {
        var anchors = new List<Point2f>(Stride16Anchors + Stride32Anchors);
        foreach (var (stride, perCell) in new[] { (16, 2), (32, 6) })
        {
            var cells = (InputSize + stride - 1) / stride;
            for (var y = 0; y < cells; y++)
                for (var x = 0; x < cells; x++)
                    for (var n = 0; n < perCell; n++)
                        anchors.Add(new Point2f(stride * (x + 0.5f), stride * (y + 0.5f)));
        }
        return anchors.ToArray();
    }

    /// <summary>
    /// Appends the candidates of one batch item above <paramref name="minScore"/> to <paramref name="candidates"/>,
    /// mapped to frame pixels by <paramref name="toFrame"/> (a scale and translation). With <paramref name="keepInside"/>
    /// set, a box that crosses it is dropped: a face cut by a tile's edge is found whole in the neighbouring tile.
    /// </summary>
    public static void AddCandidates(ReadOnlySpan<float> scores16, ReadOnlySpan<float> scores32, ReadOnlySpan<float> boxes16, ReadOnlySpan<float> boxes32,
        Affine2D toFrame, float minScore, Rect2f? keepInside, List<FaceDetection> candidates)
    {
        // Compare logits, not probabilities: one exp per candidate instead of per anchor.
        var minLogit = MathF.Log(minScore / (1 - minScore));
        Span<Point2f> keypoints = stackalloc Point2f[FaceKeypoints.Count];
        for (var i = 0; i < Anchors.Length; i++)
        {
            var first = i < Stride16Anchors;
            var logit = first ? scores16[i] : scores32[i - Stride16Anchors];
            if (logit < minLogit) continue;
            var r = first ? boxes16.Slice(i * Regressors, Regressors) : boxes32.Slice((i - Stride16Anchors) * Regressors, Regressors);
            var anchor = Anchors[i];
            var centre = toFrame.Apply(anchor.X + r[0], anchor.Y + r[1]);
            float w = r[2] * toFrame.Scale, h = r[3] * toFrame.Scale;
            var box = new Rect2f(centre.X - w / 2, centre.Y - h / 2, w, h);
            if (keepInside is { } inside && (box.Left < inside.Left || box.Top < inside.Top || box.Right > inside.Right || box.Bottom > inside.Bottom))
                continue;
            for (var k = 0; k < FaceKeypoints.Count; k++)
                keypoints[k] = toFrame.Apply(anchor.X + r[4 + 2 * k], anchor.Y + r[5 + 2 * k]);
            var score = 1f / (1f + MathF.Exp(-Math.Clamp(logit, -100f, 100f)));
            candidates.Add(new FaceDetection(box, score, keypoints));
        }
    }

    private static readonly Comparison<FaceDetection> ByScoreDescending = (a, b) => b.Score.CompareTo(a.Score);

    /// <summary>
    /// Clusters overlapping boxes around the best remaining one and averages each cluster weighted by score, which
    /// is steadier from frame to frame than keeping the single best box. Sorts <paramref name="candidates"/> in place.
    /// </summary>
    public static void WeightedNonMaxSuppression(List<FaceDetection> candidates, float iouThreshold, List<FaceDetection> faces, List<bool> taken)
    {
        candidates.Sort(ByScoreDescending);
        taken.Clear();
        for (var i = 0; i < candidates.Count; i++) taken.Add(false);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (taken[i]) continue;
            var best = candidates[i];
            float total = 0, x = 0, y = 0, w = 0, h = 0;
            var keypoints = new FaceKeypoints();
            for (var j = i; j < candidates.Count; j++)
            {
                if (taken[j] || Iou(best.Box, candidates[j].Box) <= iouThreshold) continue;
                taken[j] = true;
                var c = candidates[j];
                total += c.Score;
                x += c.Box.X * c.Score; y += c.Box.Y * c.Score; w += c.Box.Width * c.Score; h += c.Box.Height * c.Score;
                for (var k = 0; k < FaceKeypoints.Count; k++)
                    keypoints[k] = new Point2f(keypoints[k].X + c.Keypoints[k].X * c.Score, keypoints[k].Y + c.Keypoints[k].Y * c.Score);
            }
            for (var k = 0; k < FaceKeypoints.Count; k++)
                keypoints[k] = new Point2f(keypoints[k].X / total, keypoints[k].Y / total);
            faces.Add(new FaceDetection { Box = new Rect2f(x / total, y / total, w / total, h / total), Score = best.Score, Keypoints = keypoints });
        }
    }

    public static float Iou(Rect2f a, Rect2f b)
    {
        var ix = Math.Max(0, Math.Min(a.Right, b.Right) - Math.Max(a.Left, b.Left));
        var iy = Math.Max(0, Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Top, b.Top));
        var inter = ix * iy;
        var union = a.Width * a.Height + b.Width * b.Height - inter;
        return union <= 0 ? 0 : inter / union;
    }
}
