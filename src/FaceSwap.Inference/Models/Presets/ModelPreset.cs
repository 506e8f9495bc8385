namespace FaceSwap.Inference.Models.Presets;

/// <summary>
/// The contract of a model an operator brings: what it does, the tensors its reference implementation feeds and reads,
/// the published hash where there is one, and where it comes from under which licence.
/// </summary>
/// <param name="Sha256">the hash of the file as published; null where no single hash is widely published</param>
/// <param name="DynamicBatch">
/// a file whose batch dimension (dim 0) is dynamic also fits where the preset fixes it at 1: the processing feeds one
/// face at a time. Every other fixed dimension must be fixed at the same size in the file.
/// </param>
public sealed record ModelPreset(
    string Name,
    string Task,
    IReadOnlyList<PresetTensor> Inputs,
    IReadOnlyList<PresetTensor> Outputs,
    string? Sha256,
    string Origin,
    string License,
    bool DynamicBatch = true);

/// <summary>
/// One input or output. Shape -1 is a dimension the preset leaves open: the file may fix it at any size or leave it
/// dynamic. A null name is read by position, as the reference implementation does (its exports name it by node number).
/// </summary>
public sealed record PresetTensor(
    string? Name,
    string DType,
    long[] Shape,
    string? Layout = null,
    string? ColorOrder = null,
    Normalization? Normalize = null,
    string? Meaning = null)
{
    public string Describe(string kind, int index) => Name is null ? $"{kind} {index}" : $"{kind} '{Name}'";
}
