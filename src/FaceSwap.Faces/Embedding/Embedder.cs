using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;

namespace FaceSwap.Faces.Embedding;

/// <summary>
/// MobileFaceNet identity embedding of an ArcFace-aligned 112×112 face, L2-normalised: two faces of one person
/// have a cosine near 1. Sampled straight from the frame through the alignment, with no intermediate crop.
/// </summary>
public sealed class Embedder : IDisposable
{
    public const string ModelName = "mobilefacenet";
    public const int Size = 112;

    private readonly ModelSession _model;
    private readonly BoundInference _bound;
    private readonly Normalization _normalize;

    /// <param name="normalize">input normalisation; the manifest's when null</param>
    public Embedder(ModelSession model, Normalization? normalize = null)
    {
        if (model.Manifest.Preset != ModelName)
            throw new ArgumentException($"the embedder runs preset '{ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        _model = model;
        _bound = model.Bind();
        _normalize = normalize ?? model.Manifest.Inputs[0].Normalize!;
        Dimension = (int)model.Manifest.Outputs[0].Shape[^1];
    }

    public ModelSession Model => _model;
    public int Dimension { get; }

    /// <param name="frameToAligned">frame pixel → ArcFace 112×112 template pixel</param>
    public void Embed(BgrImage frame, Affine2D frameToAligned, Span<float> embedding)
    {
        AffineSampler.SampleRgb(frame, frameToAligned.Inverse(), _bound.Input(), Size, Size, _normalize.Scale, _normalize.Offset);
        _bound.Run();
        var output = _bound.Output().AsSpan(0, Dimension);
        var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(output));
        for (var i = 0; i < Dimension; i++) embedding[i] = output[i] / norm;
    }

    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);

    public void Dispose() => _bound.Dispose();
}
