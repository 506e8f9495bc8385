using FaceSwap.Faces.Alignment;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap.Neural;

/// <summary>
/// inswapper_128's pre- and post-processing, as insightface runs it (python-package/insightface/model_zoo/inswapper.py,
/// INSwapper.get): align the target to the 128 template, feed RGB in [0,1] and the latent of the source's embedding,
/// read RGB in [0,1] back, and paste it into the frame through the inverse affine with an eroded, blurred mask.
/// </summary>
public sealed class Inswapper128
{
    public const int Size = 128;
    public const int LatentLength = 512;

    /// <summary>
    /// insightface's estimate_norm for 128: the ArcFace 112 template scaled by 128/128 (not 128/112) and shifted 8 px in x,
    /// which is <see cref="Aligner.Template"/> for 128.
    /// </summary>
    public static readonly Point2f[] Template = Aligner.Template(Size);

    private readonly float[] _emap;

    /// <param name="emap">512×512, row-major: latent = embedding (row) @ emap</param>
    public Inswapper128(float[] emap)
    {
        if (emap.Length != LatentLength * LatentLength)
            throw new ArgumentException($"emap holds {emap.Length} values, inswapper_128's is {LatentLength}x{LatentLength}", nameof(emap));
        _emap = emap;
    }

    /// <summary>Reads emap, the graph's last initializer, from the model file, as insightface does.</summary>
    public static Inswapper128 FromModel(string onnxPath)
    {
        var path = Path.GetFullPath(onnxPath);
        var model = OnnxModelFile.Parse(path, File.ReadAllBytes(path));
        if (model.Graph.Initializer.Count == 0)
            throw new ModelStoreException(path, "the graph has no initializers, so no emap: not an inswapper_128 model");
        var last = model.Graph.Initializer[^1];
        if (last.Dims.Count != 2 || last.Dims[0] != LatentLength || last.Dims[1] != LatentLength)
            throw new ModelStoreException(path, $"the last initializer '{last.Name}' has shape [{string.Join(",", last.Dims)}]; inswapper_128's emap is [{LatentLength},{LatentLength}]");
        return new Inswapper128(OnnxModelFile.Floats(path, last));
    }

    public ReadOnlySpan<float> Emap => _emap;

    /// <summary>latent = normalise(normalise(embedding) @ emap): the model's 'source' input.</summary>
    public void Latent(ReadOnlySpan<float> embedding, Span<float> latent)
    {
        if (embedding.Length != LatentLength || latent.Length != LatentLength)
            throw new ArgumentException($"inswapper_128 takes a {LatentLength}-value ArcFace embedding, got {embedding.Length} values (latent {latent.Length})");
        var norm = L2(embedding);
        if (norm == 0) throw new ArgumentException("the embedding is all zeros: no identity to swap in");
        latent.Clear();
        for (var i = 0; i < LatentLength; i++)
        {
            var e = embedding[i] / norm;
            var row = _emap.AsSpan(i * LatentLength, LatentLength);
            for (var j = 0; j < LatentLength; j++) latent[j] += e * row[j];
        }
        var latentNorm = L2(latent);
        for (var j = 0; j < LatentLength; j++) latent[j] /= latentNorm;
    }

    /// <summary>Frame pixel → 128 crop pixel, fitted to the five points (eyes, nose tip, mouth corners).</summary>
    public static Affine2D FrameToCrop(ReadOnlySpan<Point2f> fivePoints) => Aligner.Similarity(fivePoints, Template);

    /// <summary>The aligned 128×128 BGR crop (cv2.warpAffine, as norm_crop2).</summary>
    public static Mat Crop(Mat frame, Affine2D frameToCrop) => Aligner.Crop(frame, frameToCrop, Size);

    /// <summary>The 'target' input: the BGR crop as RGB in [0,1], NCHW (cv2.dnn.blobFromImage(crop, 1/255, swapRB)).</summary>
    public static void TargetInput(Mat crop, Span<float> nchw)
    {
        CheckCrop(crop);
        NchwPixels.FromBgr(crop, nchw, 1 / 255f, 0);
    }

    /// <summary>The 'output' tensor (RGB in [0,1], NCHW) as a BGR crop: clip(255·v) truncated to 8 bits, as numpy's astype.</summary>
    public static void OutputToBgr(ReadOnlySpan<float> nchw, Mat crop)
    {
        CheckCrop(crop);
        NchwPixels.ToBgr(nchw, crop, 255f, 0, round: false);
    }

    /// <summary>
    /// Blends the swapped crop into <paramref name="frame"/> in place: the crop and a white mask go back through the inverse
    /// affine; the mask is eroded by k = max(s/10, 10) and blurred with a Gaussian of size 2·max(s/20, 5)+1, s = √(area of
    /// the mask's box). Only the face's neighbourhood is computed: the mask is zero beyond it, as in insightface's whole-frame version.
    /// </summary>
    public static unsafe void PasteBack(Mat frame, Mat swappedCrop, Affine2D frameToCrop)
    {
        CheckCrop(swappedCrop);
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR frame, got {frame.Type()}", nameof(frame));
        var cropToFrame = frameToCrop.Inverse();
        if (Neighbourhood(cropToFrame, frame.Width, frame.Height) is not { } roi) return; // the face lies outside the frame
        var toRoi = cropToFrame with { Tx = cropToFrame.Tx - roi.X, Ty = cropToFrame.Ty - roi.Y };

        using var fake = Warp(swappedCrop, toRoi, roi.Size);
        using var white = new Mat(Size, Size, MatType.CV_32FC1, Scalar.All(255));
        using var mask = Warp(white, toRoi, roi.Size);
        // img_white[img_white > 20] = 255: values at or below 20 stay as they are.
        using (var high = new Mat())
        {
            Cv2.Threshold(mask, high, 20, 255, ThresholdTypes.Binary);
            Cv2.Max(mask, high, mask);
        }
        using var full = new Mat();
        Cv2.Compare(mask, Scalar.All(255), full, CmpTypes.EQ);
        var box = Cv2.BoundingRect(full);
        if (box.Width == 0 || box.Height == 0) return;
        var maskSize = (int)Math.Sqrt((double)(box.Height - 1) * (box.Width - 1)); // numpy: max index − min index
        var erode = Math.Max(maskSize / 10, 10);
        using (var kernel = new Mat(erode, erode, MatType.CV_8UC1, Scalar.All(1)))
            Cv2.Erode(mask, mask, kernel);
        var blur = 2 * Math.Max(maskSize / 20, 5) + 1;
        Cv2.GaussianBlur(mask, mask, new Size(blur, blur), 0);

        using var region = new Mat(frame, roi);
        for (var y = 0; y < roi.Height; y++)
        {
            var target = (byte*)region.Ptr(y);
            var swapped = (byte*)fake.Ptr(y);
            var weight = (float*)mask.Ptr(y);
            for (var x = 0; x < roi.Width; x++)
            {
                var m = weight[x] / 255f;
                if (m <= 0) continue;
                for (var c = 0; c < 3; c++)
                {
                    var i = 3 * x + c;
                    target[i] = (byte)(m * swapped[i] + (1 - m) * target[i]); // truncated, as astype(np.uint8)
                }
            }
        }
    }

    /// <summary>The crop's box in the frame, widened by the blur radius (the mask reaches no further), clipped to the frame.</summary>
    private static Rect? Neighbourhood(Affine2D cropToFrame, int width, int height)
    {
        Span<Point2f> corners = [cropToFrame.Apply(0, 0), cropToFrame.Apply(Size, 0), cropToFrame.Apply(0, Size), cropToFrame.Apply(Size, Size)];
        float x0 = float.MaxValue, y0 = float.MaxValue, x1 = float.MinValue, y1 = float.MinValue;
        foreach (var c in corners) { x0 = MathF.Min(x0, c.X); y0 = MathF.Min(y0, c.Y); x1 = MathF.Max(x1, c.X); y1 = MathF.Max(y1, c.Y); }
        var margin = (int)(MathF.Sqrt((x1 - x0) * (y1 - y0)) / 20) + 8;
        var left = Math.Max(0, (int)MathF.Floor(x0) - margin);
        var top = Math.Max(0, (int)MathF.Floor(y0) - margin);
        var right = Math.Min(width, (int)MathF.Ceiling(x1) + margin);
        var bottom = Math.Min(height, (int)MathF.Ceiling(y1) + margin);
        return right > left && bottom > top ? new Rect(left, top, right - left, bottom - top) : null;
    }

    private static Mat Warp(Mat source, Affine2D map, Size size)
    {
        using var matrix = new Mat(2, 3, MatType.CV_32FC1);
        matrix.Set(0, 0, map.A); matrix.Set(0, 1, map.B); matrix.Set(0, 2, map.Tx);
        matrix.Set(1, 0, map.C); matrix.Set(1, 1, map.D); matrix.Set(1, 2, map.Ty);
        var warped = new Mat();
        Cv2.WarpAffine(source, warped, matrix, size, InterpolationFlags.Linear, BorderTypes.Constant, Scalar.All(0));
        return warped;
    }


    private static float L2(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        return (float)Math.Sqrt(sum);
    }

    private static void CheckCrop(Mat crop)
    {
        if (crop.Type() != MatType.CV_8UC3 || crop.Width != Size || crop.Height != Size)
            throw new ArgumentException($"expected a {Size}x{Size} 8-bit BGR crop, got {crop.Width}x{crop.Height} {crop.Type()}", nameof(crop));
    }
}
