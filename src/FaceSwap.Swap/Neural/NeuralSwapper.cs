using System.Runtime.CompilerServices;
using FaceSwap.Faces.Alignment;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace FaceSwap.Swap.Neural;

/// <summary>
/// The bring-your-own swap: inswapper_128 with the ArcFace w600k_r50 embedding (as Deep-Live-Cam and FaceFusion run
/// them), or SimSwap 256 with its own ArcFace. The source's 'source' input is computed once per source face and
/// cached; each target face is aligned by five points from its tracked mesh, swapped and pasted back.
/// </summary>
public sealed class NeuralSwapper : IFaceSwapper
{
    /// <summary>Each swapper preset and the embedding preset it takes its source from.</summary>
    public static readonly IReadOnlyDictionary<string, string> EmbedderOf = new Dictionary<string, string>
    {
        ["inswapper_128"] = "arcface_w600k_r50",
        ["simswap_256"] = "arcface_simswap",
    };

    private const int ArcFaceSize = 112;

    private readonly ModelSession _swapper;
    private readonly ModelSession _embedder;
    private readonly Inswapper128? _inswapper; // null: SimSwap
    private readonly ConditionalWeakTable<SourceFace, float[]> _sources = [];

    /// <param name="swapperFile">the swapper's verified file in the store (inswapper's emap is read from it)</param>
    public NeuralSwapper(ModelSession swapper, string swapperFile, ModelSession embedder)
    {
        var preset = swapper.Manifest.Preset ?? "";
        if (!EmbedderOf.TryGetValue(preset, out var embedderPreset))
            throw new ArgumentException($"the neural swap runs presets {string.Join(", ", EmbedderOf.Keys)}, got model '{swapper.Name}' (preset '{preset}')");
        if (embedder.Manifest.Preset != embedderPreset)
            throw new ArgumentException($"{preset} needs the '{embedderPreset}' embedding, got model '{embedder.Name}' (preset '{embedder.Manifest.Preset}')");
        _swapper = swapper;
        _embedder = embedder;
        _inswapper = preset == "inswapper_128" ? Inswapper128.FromModel(swapperFile) : null;
    }

    public string Name => _swapper.Name;

    /// <summary>The source's 'source' input (inswapper: the emap latent; SimSwap: the normalised embedding), computed once per source face.</summary>
    public float[] Latent(SourceFace source) => _sources.GetValue(source, ComputeSource);

    public void Swap(Mat frame, SourceFace source, ReadOnlySpan<Point3f> targetMesh)
    {
        Span<Point2f> five = stackalloc Point2f[5];
        Aligner.FivePoints(targetMesh, five);
        var size = _inswapper is null ? SimSwap256.Size : Inswapper128.Size;
        var frameToCrop = _inswapper is null ? SimSwap256.FrameToCrop(five) : Inswapper128.FrameToCrop(five);
        using var crop = Aligner.Crop(frame, frameToCrop, size);
        var target = new DenseTensor<float>([1, 3, size, size]);
        if (_inswapper is null) SimSwap256.TargetInput(crop, target.Buffer.Span);
        else Inswapper128.TargetInput(crop, target.Buffer.Span);
        var latent = Latent(source);
        var sourceInput = new DenseTensor<float>(latent, [1, latent.Length]);
        using (var results = _swapper.Session.Run([NamedOnnxValue.CreateFromTensor("target", target), NamedOnnxValue.CreateFromTensor("source", sourceInput)]))
        {
            var output = results[0].AsTensor<float>().ToArray();
            if (_inswapper is null) SimSwap256.OutputToBgr(output, crop);
            else Inswapper128.OutputToBgr(output, crop);
        }
        if (_inswapper is null) SimSwap256.PasteBack(frame, crop, frameToCrop);
        else Inswapper128.PasteBack(frame, crop, frameToCrop);
    }

    private float[] ComputeSource(SourceFace source)
    {
        Span<Point2f> five = stackalloc Point2f[5];
        Aligner.FivePoints(source.Mesh.Select(p => new Point3f(p.X, p.Y, 0)).ToArray(), five);
        var template = _inswapper is null ? SimSwap256.ArcFaceV1 : Aligner.ArcFace112;
        using var crop = Aligner.Crop(source.Texture, Aligner.Similarity(five, template), ArcFaceSize);
        var input = new DenseTensor<float>([1, 3, ArcFaceSize, ArcFaceSize]);
        NchwPixels.FromBgr(crop, input.Buffer.Span, 1 / 127.5f, -1f);
        float[] embedding;
        using (var results = _embedder.Session.Run([NamedOnnxValue.CreateFromTensor(_embedder.Session.InputMetadata.Keys.First(), input)]))
            embedding = results[0].AsTensor<float>().ToArray();
        if (_inswapper is null) return SimSwap256.SourceInput(embedding);
        var latent = new float[Inswapper128.LatentLength];
        _inswapper.Latent(embedding, latent);
        return latent;
    }
}
