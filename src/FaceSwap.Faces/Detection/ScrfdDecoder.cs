using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

/// <summary>A face SCRFD found, in frame pixels: box, score and five points (image-left eye, image-right eye, nose, mouth corners left and right).</summary>
public readonly record struct ScrfdFace(Rect2f Box, float Score, Point2f[] Points);

/// <summary>Where a frame sits in SCRFD's square input: scaled by <see cref="Scale"/>, top-left, zeros below and to the right.</summary>
public readonly record struct ScrfdLetterbox(float Scale, int Width, int Height, int InputSize)
{
    /// <summary>insightface's fit: the longer side (relative to the square) fills the input, the other keeps the aspect ratio.</summary>
    public static ScrfdLetterbox For(int frameWidth, int frameHeight, int inputSize = ScrfdDecoder.InputSize)
    {
        if (frameWidth <= 0 || frameHeight <= 0) throw new ArgumentException($"frame size {frameWidth}x{frameHeight} must be positive");
        int width, height;
        if ((float)frameHeight / frameWidth > 1f)
        {
            height = inputSize;
            width = (int)(height / ((float)frameHeight / frameWidth));
        }
        else
        {
            width = inputSize;
            height = (int)(width * ((float)frameHeight / frameWidth));
        }
        return new ScrfdLetterbox((float)height / frameHeight, width, height, inputSize);
    }
}

/// <summary>
/// Decodes SCRFD (det_10g and its family, insightface's exports) as insightface's scrfd.py does: strides 8, 16 and
/// 32 with two anchors per cell; per stride a score, four distances to the box sides and ten keypoint offsets, all in
/// stride units from the cell's corner; scores ≥ 0.5 kept, boxes mapped back through the letterbox, then
/// non-maximum suppression at IoU 0.4. Input: 640×640 RGB, (x − 127.5) / 128.
/// </summary>
public static class ScrfdDecoder
{
    public const int InputSize = 640;
    public const int AnchorsPerCell = 2;
    public const float ScoreThreshold = 0.5f, NmsThreshold = 0.4f;
    public static readonly int[] Strides = [8, 16, 32];

    /// <summary>The number of anchors of one stride for a square input.</summary>
    public static int AnchorCount(int stride, int inputSize = InputSize) => (inputSize / stride) * (inputSize / stride) * AnchorsPerCell;

    /// <summary>
    /// Decodes the nine outputs (scores, boxes and keypoints for strides 8, 16, 32, in that order as the model
    /// lists them) into faces in frame pixels, best first.
    /// </summary>
    public static List<ScrfdFace> Decode(IReadOnlyList<float[]> outputs, ScrfdLetterbox letterbox, float scoreThreshold = ScoreThreshold, float nmsThreshold = NmsThreshold)
    {
        if (outputs.Count != 3 * Strides.Length)
            throw new ArgumentException($"SCRFD has {3 * Strides.Length} outputs (scores, boxes, keypoints per stride), got {outputs.Count}");
        var candidates = new List<ScrfdFace>();
        for (var s = 0; s < Strides.Length; s++)
        {
            var stride = Strides[s];
            var columns = letterbox.InputSize / stride;
            var anchors = AnchorCount(stride, letterbox.InputSize);
            var (scores, boxes, points) = (outputs[s], outputs[s + 3], outputs[s + 6]);
            if (scores.Length != anchors || boxes.Length != 4 * anchors || points.Length != 10 * anchors)
                throw new ArgumentException($"stride {stride}: expected {anchors} scores, {4 * anchors} box and {10 * anchors} keypoint values, " +
                    $"got {scores.Length}, {boxes.Length} and {points.Length}");
            for (var i = 0; i < anchors; i++)
            {
                if (scores[i] < scoreThreshold) continue;
                // Both anchors of a cell share its corner: index = (row · columns + column) · 2 + anchor.
                var cell = i / AnchorsPerCell;
                float cx = cell % columns * stride, cy = cell / columns * stride;
                var d = boxes.AsSpan(4 * i, 4);
                float x1 = cx - d[0] * stride, y1 = cy - d[1] * stride, x2 = cx + d[2] * stride, y2 = cy + d[3] * stride;
                var five = new Point2f[5];
                for (var k = 0; k < 5; k++)
                    five[k] = new Point2f((cx + points[10 * i + 2 * k] * stride) / letterbox.Scale, (cy + points[10 * i + 2 * k + 1] * stride) / letterbox.Scale);
                candidates.Add(new ScrfdFace(new Rect2f(x1 / letterbox.Scale, y1 / letterbox.Scale, (x2 - x1) / letterbox.Scale, (y2 - y1) / letterbox.Scale), scores[i], five));
            }
        }
        return NonMaxSuppression(candidates, nmsThreshold);
    }

    /// <summary>Greedy NMS, best score first, with insightface's +1 pixel convention in the areas.</summary>
    public static List<ScrfdFace> NonMaxSuppression(List<ScrfdFace> candidates, float threshold)
    {
        var order = candidates.OrderByDescending(c => c.Score).ToList();
        var kept = new List<ScrfdFace>();
        foreach (var candidate in order)
            if (kept.All(k => Overlap(k.Box, candidate.Box) <= threshold))
                kept.Add(candidate);
        return kept;
    }

    private static float Overlap(Rect2f a, Rect2f b)
    {
        float w = Math.Max(0, Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X) + 1);
        float h = Math.Max(0, Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Y, b.Y) + 1);
        var inter = w * h;
        return inter / ((a.Width + 1) * (a.Height + 1) + (b.Width + 1) * (b.Height + 1) - inter);
    }
}
