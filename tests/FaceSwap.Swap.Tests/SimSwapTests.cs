using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Swap.Neural;
using FaceSwap.Vision;
using Google.Protobuf;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Swap.Tests;

/// <summary>SimSwap 256's processing against values worked out here, and its contract on a generated model (no weights).</summary>
public sealed class SimSwapTests(AnalyzerOnlyFixture fixture) : IClassFixture<AnalyzerOnlyFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Template_is_arcface_v1_scaled_to_256()
    {
        Assert.Equal(39.73f * 256 / 112, SimSwap256.Template[0].X, 4);
        Assert.Equal(87.01f * 256 / 112, SimSwap256.Template[4].Y, 4);
        // The template's own points land on it.
        var map = SimSwap256.FrameToCrop(SimSwap256.Template);
        Assert.Equal(SimSwap256.Template[2].X, map.Apply(SimSwap256.Template[2]).X, 3);
    }

    [Fact]
    public void Target_input_is_imagenet_normalised_rgb_planes_and_the_output_comes_back_rounded()
    {
        using var crop = new Mat(256, 256, MatType.CV_8UC3, new Scalar(10, 128, 250)); // B, G, R
        var nchw = new float[3 * 256 * 256];
        SimSwap256.TargetInput(crop, nchw);
        const int plane = 256 * 256;
        Assert.Equal((250 / 255f - 0.485f) / 0.229f, nchw[77], 4);            // R
        Assert.Equal((128 / 255f - 0.456f) / 0.224f, nchw[plane + 77], 4);    // G
        Assert.Equal((10 / 255f - 0.406f) / 0.225f, nchw[2 * plane + 77], 4); // B

        var output = new float[3 * plane];
        Array.Fill(output, 0.5f, 0, plane);            // R 0.5 → 127.5 → 128
        Array.Fill(output, 1.2f, plane, plane);        // G beyond 1 → 255
        Array.Fill(output, -0.1f, 2 * plane, plane);   // B below 0 → 0
        SimSwap256.OutputToBgr(output, crop);
        Assert.Equal(new Vec3b(0, 255, 128), crop.At<Vec3b>(100, 100));

        var normed = SimSwap256.SourceInput([3f, 4f]);
        Assert.Equal([0.6f, 0.8f], normed);
    }

    /// <summary>A SimSwap-shaped graph that undoes the ImageNet normalisation: its output is its target crop, RGB in [0,1].</summary>
    private string Write(string name, long size)
    {
        var graph = new OnnxGraphBuilder("generated-simswap-shaped");
        graph.AddInput("target", DataType.Float, 1, 3, size, size);
        graph.AddInput("source", DataType.Float, 1, 512);
        var deviation = graph.AddInitializer("std", [0.229f, 0.224f, 0.225f], 1, 3, 1, 1);
        var mean = graph.AddInitializer("mean", [0.485f, 0.456f, 0.406f], 1, 3, 1, 1);
        var zero = graph.AddInitializer("zero", [0f], 1);
        var scaled = graph.AddNode("Mul", ["target", deviation], "scaled");
        var shifted = graph.AddNode("Add", [scaled, mean], "shifted");
        var sum = graph.AddNode("ReduceSum", ["source"], "source_sum");
        var none = graph.AddNode("Mul", [sum, zero], "none");
        graph.AddOutputNode("Add", [shifted, none], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, size, size);
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, graph.Build("test", "1", "generated").ToByteArray());
        return path;
    }

    [Fact]
    public void A_generated_model_with_simswaps_signature_fits_its_preset_and_one_at_128_does_not()
    {
        Assert.True(PresetChecker.Check(Write("256.onnx", 256), ModelPresets.SimSwap256).Fits);
        var misfit = PresetChecker.Check(Write("128.onnx", 128), ModelPresets.SimSwap256);
        Assert.Contains(misfit.Differences, d => d.Contains("input 'target'") && d.Contains("[1,3,256,256]"));
    }

    [Fact]
    public void Generated_simswap_models_run_through_the_stream_engine()
    {
        var store = new FaceSwap.Inference.Models.ModelStore(Path.Combine(_dir.Path, "store"));
        var swapperManifest = PresetChecker.Add(store, PresetChecker.Check(Write("simswap.onnx", 256), ModelPresets.SimSwap256));
        PresetChecker.Add(store, PresetChecker.Check(InswapperTests.WriteGeneratedArcFace(_dir.Path, "input"), ModelPresets.ArcFaceSimSwap));
        using var swapperModel = FaceSwap.Inference.Runtime.ModelSession.Open(store, "simswap_256", new(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var embedderModel = FaceSwap.Inference.Runtime.ModelSession.Open(store, "arcface_simswap", new(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var neural = new NeuralSwapper(swapperModel, store.VerifiedPath(swapperManifest), embedderModel);

        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample2.jpg"));
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(photo));
        using var source = FaceSwap.Swap.Evaluation.SwapEvaluation.SourceFrom(photo, faces[0]);
        Assert.Equal(1.0, Math.Sqrt(neural.Latent(source).Sum(v => (double)v * v)), 4); // the normalised embedding
        using var frame = photo.Clone();
        Assert.Equal(faces.Count, new StreamSwapEngine(fixture.Analyzer, source, swapper: neural).Process(frame).Swapped);
        // The identity "swap" (target in, target out through ImageNet normalisation and back): small change, on the faces only.
        using var difference = new Mat();
        Cv2.Absdiff(photo, frame, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        var box = faces[0].Detection.Box;
        using (var region = grey[new Rect((int)box.X, (int)box.Y, (int)box.Width, (int)box.Height)])
            Assert.InRange(Cv2.Mean(region).Val0, 0.01, 12);
        Assert.Equal(0, grey.At<byte>(3, 3));
    }
}
