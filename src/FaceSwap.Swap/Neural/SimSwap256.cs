using FaceSwap.Faces.Alignment;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap.Neural;

/// <summary>
/// SimSwap 256's pre- and post-processing, as FaceFusion runs it (face_swapper.py): the target aligned to the
/// arcface_v1 template scaled ×256/112, RGB, (x/255 − ImageNet mean)/std per channel; the source is the L2-normalised
/// arcface_simswap embedding (112 crop on arcface_v1, x/127.5 − 1); the output, RGB in [0,1], comes back ×255
/// rounded and is pasted through FaceFusion's blurred box mask. The fit is least squares where FaceFusion uses
/// OpenCV's LMEDS: with five good points both give the same similarity.
/// </summary>
public static class SimSwap256
{
    public const int Size = 256, EmbeddingSize = 112;

    /// <summary>FaceFusion's arcface_v1 (the 112-pixel template SimSwap was trained on): eyes, nose tip, mouth corners.</summary>
    public static readonly Point2f[] ArcFaceV1 =
    [
        new(39.7300f, 51.1380f), new(72.2700f, 51.1380f), new(56.0000f, 68.4930f), new(42.4630f, 87.0100f), new(69.5370f, 87.0100f),
    ];

    public static readonly Point2f[] Template = ArcFaceV1.Select(p => new Point2f(p.X * Size / 112f, p.Y * Size / 112f)).ToArray();

    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f], Deviation = [0.229f, 0.224f, 0.225f];

    public static Affine2D FrameToCrop(ReadOnlySpan<Point2f> fivePoints) => Aligner.Similarity(fivePoints, Template);

    /// <summary>The source's 112 crop for arcface_simswap.</summary>
    public static Affine2D FrameToEmbeddingCrop(ReadOnlySpan<Point2f> fivePoints) => Aligner.Similarity(fivePoints, ArcFaceV1);

    /// <summary>The 'target' input from the aligned 256 BGR crop: per channel (x/255 − mean)/std, RGB planes.</summary>
    public static void TargetInput(Mat crop, Span<float> nchw)
    {
        Span<float> scale = stackalloc float[3], offset = stackalloc float[3];
        for (var c = 0; c < 3; c++)
        {
            scale[c] = 1 / (255f * Deviation[c]);
            offset[c] = -Mean[c] / Deviation[c];
        }
        NchwPixels.FromBgr(crop, nchw, scale, offset);
    }

    /// <summary>The model's output (RGB in [0,1], planes) into the BGR crop: ×255, rounded, as FaceFusion's normalize_crop_frame.</summary>
    public static void OutputToBgr(ReadOnlySpan<float> nchw, Mat crop) => NchwPixels.ToBgr(nchw, crop, 255f, 0, round: true);

    /// <summary>The 'source' input: the embedding, L2-normalised.</summary>
    public static float[] SourceInput(ReadOnlySpan<float> embedding)
    {
        var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(embedding));
        if (norm == 0) throw new ArgumentException("the embedding is all zeros: no identity to swap in");
        var normed = new float[embedding.Length];
        System.Numerics.Tensors.TensorPrimitives.Divide(embedding, norm, normed);
        return normed;
    }

    /// <summary>FaceFusion's paste-back with its default mask blur (0.3) and the whole crop's strength.</summary>
    public static void PasteBack(Mat frame, Mat swappedCrop, Affine2D frameToCrop) => BoxMaskPaste.Paste(frame, swappedCrop, frameToCrop, 0.3f, 1f);
}
