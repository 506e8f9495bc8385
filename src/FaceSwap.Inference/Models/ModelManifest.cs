using System.Text.Json;
using System.Text.Json.Serialization;

namespace FaceSwap.Inference.Models;

/// <summary>What the store knows about one model: its task, its file and hash, and its input/output contract.</summary>
public sealed record ModelManifest
{
    public required string Name { get; init; }
    public required string Task { get; init; }
    public required string File { get; init; }
    public required string Sha256 { get; init; }
    public string Format { get; init; } = "onnx";
    public int Opset { get; init; }
    /// <summary>Names the pre- and post-processing that goes with the model (e.g. "blazeface-back", "inswapper_128").</summary>
    public string? Preset { get; init; }
    public required IReadOnlyList<ManifestTensor> Inputs { get; init; }
    public required IReadOnlyList<ManifestTensor> Outputs { get; init; }
    public ModelSource? Source { get; init; }
    public string? License { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A manifest with "file": null or a tensor without its shape is refused when read (ModelStoreException naming
        // the file), not met later as a null in the middle of loading a model (found by ModelFileFuzzTests).
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };
}

/// <summary>An input or output; shape -1 is the batch. Images are NHWC with the colour order and normalisation given.</summary>
public sealed record ManifestTensor(
    string Name,
    string DType,
    long[] Shape,
    string? Layout = null,
    string? ColorOrder = null,
    Normalization? Normalize = null,
    string? Meaning = null);

/// <summary>model input = pixel × Scale + Offset, for 8-bit pixels 0–255.</summary>
public sealed record Normalization(float Scale, float Offset)
{
    public static readonly Normalization ZeroToOne = new(1f / 255f, 0f);
    public static readonly Normalization MinusOneToOne = new(1f / 127.5f, -1f);
    public static readonly Normalization Raw = new(1f, 0f);
}

/// <summary>Where a converted model came from: npm package, version, file and the hashes of every source file.</summary>
public sealed record ModelSource(string Package, string Version, string Path, IReadOnlyDictionary<string, string> Sha256, string Converter);
