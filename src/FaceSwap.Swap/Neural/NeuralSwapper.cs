using System.Runtime.CompilerServices;
using FaceSwap.Faces.Alignment;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace FaceSwap.Swap.Neural;

/// <summary>
/// The bring-your-own swap: inswapper_128 with the ArcFace w600k_r50 embedding of the source, as Deep-Live-Cam and
/// FaceFusion run them. The source's latent is computed once per source face and cached; each target face is aligned
/// by five points from its tracked mesh, swapped at 128 px and pasted back.
/// </summary>
public sealed class NeuralSwapper : IFaceSwapper
{
    public const string SwapperPreset = "inswapper_128", EmbedderPreset = "arcface_w600k_r50";
    private const int ArcFaceSize = 112;

    private readonly ModelSession _swapper;
    private readonly ModelSession _embedder;
    private readonly Inswapper128 _inswapper;
    private readonly ConditionalWeakTable<SourceFace, float[]> _latents = [];

    /// <param name="swapperFile">the swapper's verified file in the store (its emap is read from it)</param>
    public NeuralSwapper(ModelSession swapper, string swapperFile, ModelSession embedder)
    {
        if (swapper.Manifest.Preset != SwapperPreset) throw new ArgumentException($"the neural swap runs preset '{SwapperPreset}', got model '{swapper.Name}' (preset '{swapper.Manifest.Preset}')");
        if (embedder.Manifest.Preset != EmbedderPreset) throw new ArgumentException($"inswapper_128 needs the '{EmbedderPreset}' embedding, got model '{embedder.Name}' (preset '{embedder.Manifest.Preset}')");
        _swapper = swapper;
        _embedder = embedder;
        _inswapper = Inswapper128.FromModel(swapperFile);
    }

    public string Name => _swapper.Name;

    /// <summary>The source's latent ('source' input), computed on first use and kept as long as the source face lives.</summary>
    public float[] Latent(SourceFace source) => _latents.GetValue(source, ComputeLatent);

    public void Swap(Mat frame, SourceFace source, ReadOnlySpan<Point3f> targetMesh)
    {
        Span<Point2f> five = stackalloc Point2f[5];
        Aligner.FivePoints(targetMesh, five);
        var frameToCrop = Inswapper128.FrameToCrop(five);
        using var crop = Inswapper128.Crop(frame, frameToCrop);
        var target = new DenseTensor<float>([1, 3, Inswapper128.Size, Inswapper128.Size]);
        Inswapper128.TargetInput(crop, target.Buffer.Span);
        var latent = new DenseTensor<float>(Latent(source), [1, Inswapper128.LatentLength]);
        using (var results = _swapper.Session.Run([NamedOnnxValue.CreateFromTensor("target", target), NamedOnnxValue.CreateFromTensor("source", latent)]))
            Inswapper128.OutputToBgr(results[0].AsTensor<float>().ToArray(), crop);
        Inswapper128.PasteBack(frame, crop, frameToCrop);
    }

    private float[] ComputeLatent(SourceFace source)
    {
        Span<Point2f> five = stackalloc Point2f[5];
        Aligner.FivePoints(source.Mesh.Select(p => new Point3f(p.X, p.Y, 0)).ToArray(), five);
        using var crop = Aligner.Crop(source.Texture, Aligner.Similarity(five, Aligner.ArcFace112), ArcFaceSize);
        var input = new DenseTensor<float>([1, 3, ArcFaceSize, ArcFaceSize]);
        NchwPixels.FromBgr(crop, input.Buffer.Span, 1 / 127.5f, -1f);
        float[] embedding;
        using (var results = _embedder.Session.Run([NamedOnnxValue.CreateFromTensor(_embedder.Manifest.Inputs[0].Name, input)]))
            embedding = results[0].AsTensor<float>().ToArray();
        var latent = new float[Inswapper128.LatentLength];
        _inswapper.Latent(embedding, latent);
        return latent;
    }
}
