using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

/// <summary>
/// Turns BlazeFace (back-camera, 256×256) outputs into faces: SSD anchors, sigmoid scores, weighted non-maximum
/// suppression as MediaPipe's TensorsToDetections + NonMaxSuppression(WEIGHTED) calculators do.
/// Coordinates stay in model-input pixels; the caller maps them back to the frame.
/// </summary>
public static class BlazeFaceDecoder
{
    public const int InputSize = 256;
    public const int KeypointCount = 6;
    public const int Regressors = 16; // box centre offset (2), size (2), 6 keypoints (12)

    /// <summary>Anchor centres in input pixels: stride 16 with 2 anchors per cell, then stride 32 with 6 (Human's generateAnchors).</summary>
    public static readonly Point2f[] Anchors = MakeAnchors();

    private static Point2f[] MakeAnchors()
    {
        var anchors = new List<Point2f>(896);
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

    /// <param name="scores16">512 logits (stride 16)</param><param name="scores32">384 logits (stride 32)</param>
    /// <param name="boxes16">512 × 16 regressions</param><param name="boxes32">384 × 16 regressions</param>
    public static List<FaceDetection> Decode(ReadOnlySpan<float> scores16, ReadOnlySpan<float> scores32, ReadOnlySpan<float> boxes16, ReadOnlySpan<float> boxes32,
        float minScore, float iouThreshold)
    {
        var candidates = new List<FaceDetection>();
        for (var i = 0; i < Anchors.Length; i++)
        {
            var first = i < scores16.Length;
            var logit = first ? scores16[i] : scores32[i - scores16.Length];
            var score = 1f / (1f + MathF.Exp(-Math.Clamp(logit, -100f, 100f)));
            if (score < minScore) continue;
            var r = first ? boxes16.Slice(i * Regressors, Regressors) : boxes32.Slice((i - scores16.Length) * Regressors, Regressors);
            var anchor = Anchors[i];
            float cx = anchor.X + r[0], cy = anchor.Y + r[1], w = r[2], h = r[3];
            var keypoints = new Point2f[KeypointCount];
            for (var k = 0; k < KeypointCount; k++)
                keypoints[k] = new Point2f(anchor.X + r[4 + 2 * k], anchor.Y + r[5 + 2 * k]);
            candidates.Add(new FaceDetection(new Rect2f(cx - w / 2, cy - h / 2, w, h), score, keypoints));
        }
        return WeightedNonMaxSuppression(candidates, iouThreshold);
    }

    /// <summary>Clusters overlapping boxes around the best one and averages each cluster weighted by score (steadier than plain NMS).</summary>
    public static List<FaceDetection> WeightedNonMaxSuppression(List<FaceDetection> candidates, float iouThreshold)
    {
        var remaining = candidates.OrderByDescending(c => c.Score).ToList();
        var result = new List<FaceDetection>();
        while (remaining.Count > 0)
        {
            var best = remaining[0];
            var cluster = remaining.Where(c => Iou(best.Box, c.Box) > iouThreshold).ToList();
            remaining.RemoveAll(cluster.Contains);
            float total = cluster.Sum(c => c.Score), x = 0, y = 0, w = 0, h = 0;
            var keypoints = new Point2f[best.Keypoints.Length];
            foreach (var c in cluster)
            {
                var weight = c.Score / total;
                x += c.Box.X * weight; y += c.Box.Y * weight; w += c.Box.Width * weight; h += c.Box.Height * weight;
                for (var k = 0; k < keypoints.Length; k++)
                    keypoints[k] = new Point2f(keypoints[k].X + c.Keypoints[k].X * weight, keypoints[k].Y + c.Keypoints[k].Y * weight);
            }
            result.Add(new FaceDetection(new Rect2f(x, y, w, h), best.Score, keypoints));
        }
        return result;
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
