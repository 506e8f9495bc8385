using BenchmarkDotNet.Attributes;
using FaceSwap.Faces;
using FaceSwap.Faces.Alignment;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Enhancement;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Swap.Neural;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Bench;

/// <summary>
/// What our code adds around a bring-your-own model, per face on a 640×480 frame: alignment crop, tensor in and out,
/// paste-back (and blend). The models are generated pass-throughs with the presets' signatures (their own cost is a
/// copy), so this measures the processing, not the networks, which need their real weights and a GPU.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class NeuralProcessingBenchmarks
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fsc-bench-").FullName;
    private readonly List<IDisposable> _owned = [];
    private Mat _still = null!, _frame = null!;
    private SourceFace _source = null!;
    private Point3f[] _mesh = null!;
    private IFaceSwapper? _swapper;
    private FaceEnhancer? _enhancer;

    [Params("inswapper_128", "simswap_256", "gfpgan_1.4")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var pack = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, pack);
        using var analyzer = FaceAnalyzer.Open(pack, new InferenceOptions { IntraOpThreads = 1 }, new DetectorOptions(), NullLogger.Instance);
        _still = StillFrames.Astronaut640x480();
        _frame = _still.Clone();
        var face = analyzer.Analyze(FaceSwap.Vision.BgrImage.Of(_still)).Single();
        _mesh = face.Landmarks.Mesh.ToArray();
        _source = SwapEvaluation.SourceFrom(_still, face);

        var store = new ModelStore(Path.Combine(_dir, "store"));
        var options = new InferenceOptions { IntraOpThreads = 1 };
        ModelSession Add(ModelPreset preset, OnnxGraphBuilder graph)
        {
            var path = Path.Combine(_dir, preset.Name + ".onnx");
            File.WriteAllBytes(path, graph.Build("fsc-bench", "1", "generated pass-through").ToByteArray());
            var session = ModelSession.Open(store, PresetChecker.Add(store, PresetChecker.Check(path, preset with { Sha256 = null })).Name, options, NullLogger.Instance);
            _owned.Add(session);
            return session;
        }
        switch (Model)
        {
            case "gfpgan_1.4":
                _enhancer = new FaceEnhancer(Add(ModelPresets.Gfpgan14, PassThrough("input", 512, null)));
                break;
            default:
                var swapperPreset = Model == "inswapper_128" ? ModelPresets.Inswapper128 : ModelPresets.SimSwap256;
                var swapper = Add(swapperPreset, PassThrough("target", Model == "inswapper_128" ? 128 : 256, "source"));
                var embedder = Add(Model == "inswapper_128" ? ModelPresets.ArcFaceW600kR50 : ModelPresets.ArcFaceSimSwap, Embedding());
                _swapper = new NeuralSwapper(swapper, store.VerifiedPath(swapper.Manifest), embedder);
                break;
        }
    }

    /// <summary>output = image (+ 0 · Σ source); inswapper's emap last, where it is read from.</summary>
    private static OnnxGraphBuilder PassThrough(string input, long size, string? source)
    {
        var graph = new OnnxGraphBuilder("generated-pass-through");
        graph.AddInput(input, DataType.Float, 1, 3, size, size);
        var output = input;
        if (source is not null)
        {
            graph.AddInput(source, DataType.Float, 1, 512);
            var zero = graph.AddInitializer("zero", [0f], 1);
            var sum = graph.AddNode("ReduceSum", [source], "source_sum");
            output = graph.AddNode("Mul", [sum, zero], "none");
            graph.AddOutputNode("Add", [input, output], "output");
        }
        else graph.AddOutputNode("Identity", [input], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, size, size);
        if (size == 128) graph.AddInitializer("emap", Enumerable.Range(0, 512 * 512).Select(i => MathF.Sin(i * 0.01f)).ToArray(), 512, 512);
        return graph;
    }

    private static OnnxGraphBuilder Embedding()
    {
        var graph = new OnnxGraphBuilder("generated-embedding");
        graph.AddInput("input.1", DataType.Float, 1, 3, 112, 112);
        var pooled = graph.AddNode("GlobalAveragePool", ["input.1"], "pooled");
        var flat = graph.AddNode("Flatten", [pooled], "flat");
        var map = graph.AddInitializer("map", Enumerable.Range(0, 3 * 512).Select(i => MathF.Cos(i * 0.1f)).ToArray(), 3, 512);
        graph.AddOutputNode("MatMul", [flat, map], "embedding");
        graph.AddOutput("embedding", DataType.Float, 1, 512);
        return graph;
    }

    [Benchmark(Description = "processing around the model, one face (640x480)")]
    public void OneFace()
    {
        _still.CopyTo(_frame);
        if (_swapper is not null) _swapper.Swap(_frame, _source, _mesh);
        else
        {
            Span<Point2f> five = stackalloc Point2f[5];
            Aligner.FivePoints(_mesh, five);
            _enhancer!.Enhance(_frame, five);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var owned in _owned) owned.Dispose();
        _source.Dispose();
        _still.Dispose();
        _frame.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
