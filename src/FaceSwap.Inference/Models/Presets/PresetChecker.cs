using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace FaceSwap.Inference.Models.Presets;

/// <summary>An ONNX file read and compared with a preset: each difference is one line an operator can act on.</summary>
public sealed record PresetCheck(string Path, byte[] Bytes, ModelProto Model, string Sha256, ModelPreset Preset, IReadOnlyList<string> Differences)
{
    public bool Fits => Differences.Count == 0;
}

/// <summary>
/// Checks a model an operator brings against its preset (names, element types, shapes, published hash) and adds a
/// model that fits to the store with a manifest. Shapes: a preset's -1 takes any size or a dynamic dimension; a fixed
/// size needs the same fixed size in the file, except a dynamic batch where the preset fixes batch 1 and allows it.
/// </summary>
public static class PresetChecker
{
    public static PresetCheck Check(string path, ModelPreset preset)
    {
        path = System.IO.Path.GetFullPath(path);
        var bytes = File.ReadAllBytes(path);
        var model = OnnxModelFile.Parse(path, bytes);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var differences = new List<string>();
        Compare("input", OnnxModelFile.Inputs(model), preset.Inputs, preset, differences);
        Compare("output", OnnxModelFile.Outputs(model), preset.Outputs, preset, differences);
        if (preset.Sha256 is { } published && !string.Equals(sha256, published, StringComparison.OrdinalIgnoreCase))
            differences.Add($"sha256 {sha256}, preset {preset.Name} wants {published} (the published file); this is another export or a changed file");
        if (differences.Count == 0 && LoadError(bytes) is { } error)
            differences.Add($"ONNX Runtime cannot load it: {error}");
        return new PresetCheck(path, bytes, model, sha256, preset, differences);
    }

    /// <summary>Copies a model that fits into the store as <paramref name="name"/> (the preset's name by default).</summary>
    public static ModelManifest Add(ModelStore store, PresetCheck check, string? name = null, bool replace = false)
    {
        if (!check.Fits)
            throw new ModelStoreException(check.Path, $"does not fit preset {check.Preset.Name}: {string.Join("; ", check.Differences)}");
        name ??= check.Preset.Name;
        if (store.Contains(name) && !replace)
            throw new ModelStoreException(store.ManifestPath(name), $"the store already holds a model '{name}'; pass --name to add this one beside it or --replace to replace it");
        var preset = check.Preset;
        var manifest = new ModelManifest
        {
            Name = name,
            Task = preset.Task,
            File = name + ".onnx",
            Sha256 = check.Sha256,
            Opset = OnnxModelFile.Opset(check.Model),
            Preset = preset.Name,
            Inputs = Manifest(OnnxModelFile.Inputs(check.Model), preset.Inputs),
            Outputs = Manifest(OnnxModelFile.Outputs(check.Model), preset.Outputs),
            Source = new ModelSource(preset.Origin, "as brought by the operator", System.IO.Path.GetFileName(check.Path),
                new Dictionary<string, string> { [System.IO.Path.GetFileName(check.Path)] = check.Sha256 }, "none"),
            License = preset.License,
        };
        return store.Add(manifest, check.Bytes);
    }

    private static void Compare(string kind, IReadOnlyList<OnnxTensorInfo> file, IReadOnlyList<PresetTensor> wanted, ModelPreset preset, List<string> differences)
    {
        var used = new bool[file.Count];
        var wantedNames = wanted.Where(w => w.Name is not null).Select(w => w.Name!).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < wanted.Count; i++)
        {
            var want = wanted[i];
            var j = Match(file, want, i);
            string label;
            if (j < 0 && i < file.Count && !used[i] && !wantedNames.Contains(file[i].Name))
            {
                // Same place, another name: one difference, and the rest of the tensor is still compared.
                differences.Add($"{kind} {i} is named '{file[i].Name}', preset {preset.Name} wants '{want.Name}'");
                j = i;
                label = $"{kind} '{file[i].Name}'";
            }
            else if (j < 0)
            {
                differences.Add($"{want.Describe(kind, i)} is missing; the file's {kind}s are {Names(file)}");
                continue;
            }
            else
            {
                label = want.Name is null ? $"{kind} {i} ('{file[j].Name}')" : $"{kind} '{want.Name}'";
            }
            used[j] = true;
            var have = file[j];
            if (have.DType != want.DType)
                differences.Add($"{label}: element type {have.DType}, preset {preset.Name} wants {want.DType}");
            if (ShapeDifference(have.Shape, want.Shape, preset.DynamicBatch) is { } shape)
                differences.Add($"{label}: {shape}, preset {preset.Name} wants [{string.Join(",", want.Shape)}]");
        }
        for (var j = 0; j < file.Count; j++)
            if (!used[j])
                differences.Add($"{kind} '{file[j].Name}' is not one of preset {preset.Name}'s {wanted.Count} {kind}s");
    }

    private static int Match(IReadOnlyList<OnnxTensorInfo> file, PresetTensor want, int index)
    {
        if (want.Name is null) return index < file.Count ? index : -1;
        for (var j = 0; j < file.Count; j++)
            if (file[j].Name == want.Name) return j;
        return -1;
    }

    private static string? ShapeDifference(long[]? have, long[] want, bool dynamicBatch)
    {
        if (have is null) return "no declared shape";
        var text = $"shape [{string.Join(",", have)}]";
        if (have.Length != want.Length) return text;
        var dynamicWhereFixed = new List<int>();
        var differs = false;
        for (var d = 0; d < want.Length; d++)
        {
            if (want[d] < 0 || have[d] == want[d]) continue;
            if (have[d] < 0 && d == 0 && want[d] == 1 && dynamicBatch) continue; // fed one at a time
            differs = true;
            if (have[d] < 0) dynamicWhereFixed.Add(d);
        }
        if (!differs) return null;
        return dynamicWhereFixed.Count == 0 ? text : $"{text} (dim {string.Join(",", dynamicWhereFixed)} dynamic in the file, fixed in the preset)";
    }

    private static List<ManifestTensor> Manifest(IReadOnlyList<OnnxTensorInfo> file, IReadOnlyList<PresetTensor> preset) =>
        file.Select((t, i) =>
        {
            var p = preset.FirstOrDefault(w => w.Name == t.Name) ?? (i < preset.Count && preset[i].Name is null ? preset[i] : null);
            return new ManifestTensor(t.Name, t.DType, t.Shape ?? [], p?.Layout, p?.ColorOrder, p?.Normalize, p?.Meaning);
        }).ToList();

    private static string Names(IReadOnlyList<OnnxTensorInfo> tensors) =>
        tensors.Count == 0 ? "none" : string.Join(", ", tensors.Select(t => $"'{t.Name}'"));

    private static string? LoadError(byte[] bytes)
    {
        try
        {
            using var session = new InferenceSession(bytes);
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return e.Message.Split('\n')[0].Trim(); // the difference is reported, not swallowed
        }
    }
}
