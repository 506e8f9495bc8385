using Microsoft.ML.OnnxRuntime;

namespace FaceSwap.Inference.Runtime;

/// <summary>
/// Pre-allocated input and output buffers of one model for a fixed batch, bound through <see cref="OrtIoBinding"/>:
/// the caller writes the inputs, calls <see cref="Run"/>, reads the outputs; a steady stream allocates nothing.
/// </summary>
public sealed class BoundInference : IDisposable
{
    private readonly ModelSession _model;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly Dictionary<string, float[]> _buffers = new(StringComparer.Ordinal);
    private readonly List<OrtValue> _values = [];

    internal BoundInference(ModelSession model, int batch)
    {
        _model = model;
        Batch = batch;
        _binding = model.Session.CreateIoBinding();
        foreach (var input in model.Manifest.Inputs)
            _binding.BindInput(input.Name, Allocate(input.Name, input.Shape));
        foreach (var output in model.Manifest.Outputs)
            _binding.BindOutput(output.Name, Allocate(output.Name, output.Shape));
    }

    public int Batch { get; }

    /// <summary>The buffer of input or output <paramref name="name"/>, row-major with the batch first.</summary>
    public float[] this[string name] => _buffers.TryGetValue(name, out var buffer)
        ? buffer
        : throw new KeyNotFoundException($"{_model.Name} has no input or output '{name}' (it has {string.Join(", ", _buffers.Keys)})");

    public float[] Input(int index = 0) => this[_model.Manifest.Inputs[index].Name];
    public float[] Output(int index = 0) => this[_model.Manifest.Outputs[index].Name];

    public void Run() => _model.Session.RunWithBinding(_runOptions, _binding);

    private OrtValue Allocate(string name, long[] shape)
    {
        var dims = shape.Select(d => d < 0 ? Batch : d).ToArray();
        var buffer = new float[dims.Aggregate(1L, (a, b) => a * b)];
        _buffers[name] = buffer;
        var value = OrtValue.CreateTensorValueFromMemory(buffer, dims);
        _values.Add(value);
        return value;
    }

    public void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        foreach (var value in _values) value.Dispose();
    }
}
