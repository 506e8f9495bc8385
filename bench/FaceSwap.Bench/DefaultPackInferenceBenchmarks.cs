using BenchmarkDotNet.Attributes;
using FaceSwap.Inference.Models;
using Microsoft.ML.OnnxRuntime;

namespace FaceSwap.Bench;

/// <summary>
/// One inference of each converted default-pack model with ONNX Runtime on one CPU thread, batch 1, input and
/// output buffers bound once (what a steady stream costs per frame before any pre- or post-processing).
/// </summary>
[MemoryDiagnoser]
public class DefaultPackInferenceBenchmarks
{
    private InferenceSession _session = null!;
    private OrtIoBinding _binding = null!;
    private RunOptions _run = null!;
    private readonly List<OrtValue> _values = [];

    [Params("blazeface-back", "facemesh", "mobilefacenet", "mobileface", "selfie")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        var manifest = store.Get(Model);
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        _session = new InferenceSession(store.VerifiedPath(manifest), options);
        _binding = _session.CreateIoBinding();
        _run = new RunOptions();
        foreach (var input in manifest.Inputs)
        {
            var shape = input.Shape.Select(d => d < 0 ? 1 : d).ToArray();
            var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (var i = 0; i < data.Length; i++) data[i] = (i % 255) / 255f;
            var value = OrtValue.CreateTensorValueFromMemory(data, shape);
            _values.Add(value);
            _binding.BindInput(input.Name, value);
        }
        foreach (var output in manifest.Outputs)
        {
            var shape = output.Shape.Select(d => d < 0 ? 1 : d).ToArray();
            var value = OrtValue.CreateTensorValueFromMemory(new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
            _values.Add(value);
            _binding.BindOutput(output.Name, value);
        }
        _session.RunWithBinding(_run, _binding); // warm-up
    }

    [Benchmark]
    public void Infer() => _session.RunWithBinding(_run, _binding);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var value in _values) value.Dispose();
        _binding.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
