using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using Google.Protobuf;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Inference.Tests;

/// <summary>
/// Presets as contracts: generated models (right signatures, made-up weights) are accepted or refused, with one line per
/// difference. None of these weights is a real model's.
/// </summary>
public sealed class PresetTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // The real preset pins the published file's hash, which no generated model has.
    private static readonly ModelPreset Unhashed = ModelPresets.Inswapper128 with { Sha256 = null };

    /// <summary>An inswapper-shaped graph: output = target + 0·Σ source, with a 512×512 emap as the last initializer.</summary>
    internal static byte[] GeneratedInswapper(string targetName = "target", OnnxDim? batch = null, OnnxDim? height = null, OnnxDim? width = null, DataType targetType = DataType.Float)
    {
        OnnxDim n = batch ?? 1, h = height ?? 128, w = width ?? 128;
        var graph = new OnnxGraphBuilder("generated-inswapper");
        graph.Reserve("output");
        graph.AddInput(targetName, targetType, n, 3, h, w);
        graph.AddInput("source", DataType.Float, 1, 512);
        var target = graph.AddNode("Cast", [targetName], "target_f32", OnnxAttribute.Of("to", (long)DataType.Float));
        var zero = graph.AddInitializer("zero", [0f], 1);
        var sum = graph.AddNode("ReduceSum", ["source"], "source_sum");
        var none = graph.AddNode("Mul", [sum, zero], "source_times_zero");
        graph.AddOutputNode("Add", [target, none], "output");
        graph.AddOutput("output", DataType.Float, n, 3, h, w);
        graph.AddInitializer("emap", Enumerable.Range(0, 512 * 512).Select(i => MathF.Sin(i * 0.001f)).ToArray(), 512, 512);
        return graph.Build("fsc-tests", "1", "generated model: inswapper_128 signature, not its weights").ToByteArray();
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Generated_model_with_the_inswapper_signature_is_refused_only_for_its_hash_and_added_without_one()
    {
        var path = Write("inswapper.onnx", GeneratedInswapper());

        var published = PresetChecker.Check(path, ModelPresets.Inswapper128);
        var line = Assert.Single(published.Differences);
        Assert.Equal($"sha256 {ModelStore.Sha256Of(path)}, preset inswapper_128 wants e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af (the published file); this is another export or a changed file", line);
        Assert.Throws<ModelStoreException>(() => PresetChecker.Add(new ModelStore(Path.Combine(_dir.Path, "store")), published));

        var check = PresetChecker.Check(path, Unhashed);
        Assert.True(check.Fits, string.Join("\n", check.Differences));
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        var manifest = PresetChecker.Add(store, check);
        Assert.Equal("inswapper_128", manifest.Name);
        Assert.Equal("inswapper_128", manifest.Preset);
        Assert.Equal("face-swap", manifest.Task);
        Assert.Equal(ModelStore.Sha256Of(path), manifest.Sha256);
        Assert.Contains("non-commercial", manifest.License);
        Assert.Equal(["target", "source"], manifest.Inputs.Select(t => t.Name));
        Assert.Equal([1L, 3, 128, 128], manifest.Inputs[0].Shape);
        Assert.Equal(Normalization.ZeroToOne, manifest.Inputs[0].Normalize);
        Assert.Equal("output", Assert.Single(manifest.Outputs).Name);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(store.VerifiedPath(store.Get("inswapper_128"))));

        var again = Assert.Throws<ModelStoreException>(() => PresetChecker.Add(store, check));
        Assert.Contains("--name", again.Problem);
        Assert.Equal("inswapper_b", PresetChecker.Add(store, check, "inswapper_b").Name);
    }

    [Fact]
    public void Generated_model_with_a_wrong_input_name_is_refused_naming_both()
    {
        var check = PresetChecker.Check(Write("renamed.onnx", GeneratedInswapper(targetName: "img")), Unhashed);
        Assert.Equal(["input 0 is named 'img', preset inswapper_128 wants 'target'"], check.Differences);
    }

    [Fact]
    public void Generated_model_with_a_wrong_shape_is_refused_with_both_shapes()
    {
        var check = PresetChecker.Check(Write("256.onnx", GeneratedInswapper(height: 256, width: 256)), Unhashed);
        Assert.Equal(
            [
                "input 'target': shape [1,3,256,256], preset inswapper_128 wants [1,3,128,128]",
                "output 'output': shape [1,3,256,256], preset inswapper_128 wants [1,3,128,128]",
            ],
            check.Differences);
    }

    [Fact]
    public void Generated_model_with_a_wrong_element_type_is_refused()
    {
        var check = PresetChecker.Check(Write("fp16.onnx", GeneratedInswapper(targetType: DataType.Float16)), Unhashed);
        Assert.Equal(["input 'target': element type float16, preset inswapper_128 wants float32"], check.Differences);
    }

    [Fact]
    public void Generated_model_dynamic_dims_fit_only_where_the_preset_allows()
    {
        // A dynamic batch fits: the swapper feeds one face at a time.
        var batch = PresetChecker.Check(Write("batch.onnx", GeneratedInswapper(batch: OnnxDim.Named("batch"))), Unhashed);
        Assert.True(batch.Fits, string.Join("\n", batch.Differences));
        // A dynamic height and width do not: inswapper_128 runs at 128×128 only.
        var size = PresetChecker.Check(Write("size.onnx", GeneratedInswapper(height: OnnxDim.Named("h"), width: OnnxDim.Named("w"))), Unhashed);
        Assert.Contains("input 'target': shape [1,3,-1,-1] (dim 2,3 dynamic in the file, fixed in the preset), preset inswapper_128 wants [1,3,128,128]", size.Differences);
        // And a preset's open dimension takes a fixed size: SCRFD exported at 640×640.
        var scrfd = PresetChecker.Check(Write("scrfd640.onnx", GeneratedScrfd(640)), ModelPresets.Scrfd10g);
        Assert.True(scrfd.Fits, string.Join("\n", scrfd.Differences));
    }

    [Fact]
    public void Generated_models_with_the_arcface_scrfd_and_gfpgan_signatures_fit_their_presets()
    {
        var arcface = new OnnxGraphBuilder("generated-arcface");
        arcface.AddInput("input.1", DataType.Float, OnnxDim.Named("N"), 3, 112, 112);
        var pooled = arcface.AddNode("ReduceMean", ["input.1"], "pooled", OnnxAttribute.Of("axes", 2L, 3L), OnnxAttribute.Of("keepdims", 0L));
        var weights = arcface.AddInitializer("w", Enumerable.Range(0, 3 * 512).Select(i => i % 7 - 3f).ToArray(), 3, 512);
        arcface.AddOutputNode("MatMul", [pooled, weights], "683");
        arcface.AddOutput("683", DataType.Float, OnnxDim.Named("N"), 512);
        var arcfaceCheck = PresetChecker.Check(Write("w600k_r50.onnx", arcface.Build("fsc-tests", "1", "generated").ToByteArray()), ModelPresets.ArcFaceW600kR50);
        Assert.True(arcfaceCheck.Fits, string.Join("\n", arcfaceCheck.Differences));

        var scrfd = PresetChecker.Check(Write("det_10g.onnx", GeneratedScrfd(null)), ModelPresets.Scrfd10g);
        Assert.True(scrfd.Fits, string.Join("\n", scrfd.Differences));
        var manifest = PresetChecker.Add(new ModelStore(Path.Combine(_dir.Path, "store")), scrfd);
        Assert.Equal("scores, stride 8", manifest.Outputs[0].Meaning);
        Assert.Equal([-1L, 10], manifest.Outputs[8].Shape);

        var gfpgan = new OnnxGraphBuilder("generated-gfpgan");
        gfpgan.AddInput("input", DataType.Float, 1, 3, 512, 512);
        gfpgan.AddOutputNode("Tanh", ["input"], "output");
        gfpgan.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        var gfpganCheck = PresetChecker.Check(Write("gfpgan.onnx", gfpgan.Build("fsc-tests", "1", "generated").ToByteArray()), ModelPresets.Gfpgan14);
        Assert.True(gfpganCheck.Fits, string.Join("\n", gfpganCheck.Differences));
    }

    [Fact]
    public void Generated_model_with_scrfd_outputs_in_another_order_is_refused_by_position()
    {
        var check = PresetChecker.Check(Write("reordered.onnx", GeneratedScrfd(null, kpsFirst: true)), ModelPresets.Scrfd10g);
        Assert.Contains("output 0 ('kps8'): shape [-1,10], preset scrfd_10g wants [-1,1]", check.Differences);
        Assert.Contains("output 6 ('score8'): shape [-1,1], preset scrfd_10g wants [-1,10]", check.Differences);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused_with_one_clear_error()
    {
        foreach (var (name, bytes) in new[] { ("notes.onnx", "hello, this is not a model\n"u8.ToArray()), ("noise.onnx", Enumerable.Range(0, 4096).Select(i => (byte)(i * 131 % 251)).ToArray()) })
        {
            var path = Write(name, bytes);
            var error = Assert.Throws<ModelStoreException>(() => PresetChecker.Check(path, ModelPresets.Inswapper128));
            Assert.StartsWith($"{path}: not an ONNX model", error.Message);
        }
        Assert.Throws<ArgumentException>(() => ModelPresets.Get("inswapper_256"));
    }

    /// <summary>SCRFD-shaped: per stride, pool, 1×1 conv to 2 anchors × values, and flatten to [cells·2, values].</summary>
    private static byte[] GeneratedScrfd(long? size, bool kpsFirst = false)
    {
        var graph = new OnnxGraphBuilder("generated-scrfd");
        OnnxDim side = size is { } s ? s : OnnxDim.Named("side");
        graph.AddInput("input.1", DataType.Float, 1, 3, side, side);
        (string Head, long Values)[] heads = kpsFirst ? [("kps", 10), ("bbox", 4), ("score", 1)] : [("score", 1), ("bbox", 4), ("kps", 10)];
        foreach (var (head, values) in heads)
            foreach (var stride in new long[] { 8, 16, 32 })
            {
                var name = $"{head}{stride}";
                graph.Reserve(name);
                var pooled = graph.AddNode("AveragePool", ["input.1"], $"pool_{name}", OnnxAttribute.Of("kernel_shape", stride, stride), OnnxAttribute.Of("strides", stride, stride));
                var weights = graph.AddInitializer($"w_{name}", Enumerable.Range(0, (int)(2 * values * 3)).Select(i => 0.01f * i).ToArray(), 2 * values, 3, 1, 1);
                var conv = graph.AddNode("Conv", [pooled, weights], $"conv_{name}");
                var nhwc = graph.AddNode("Transpose", [conv], $"nhwc_{name}", OnnxAttribute.Of("perm", 0L, 2L, 3L, 1L));
                var shape = graph.AddInitializer($"shape_{name}", [-1L, values], 2);
                graph.AddOutputNode("Reshape", [nhwc, shape], name);
                graph.AddOutput(name, DataType.Float, OnnxDim.Named($"anchors{stride}"), values);
            }
        return graph.Build("fsc-tests", "1", "generated model: SCRFD det_10g signature, not its weights").ToByteArray();
    }
}
