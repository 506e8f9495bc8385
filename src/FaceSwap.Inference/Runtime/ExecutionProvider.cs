namespace FaceSwap.Inference.Runtime;

/// <summary>Where ONNX Runtime runs a model. CPU is in every build; the others only in the GPU (or Apple) package.</summary>
public enum ExecutionProvider
{
    TensorRt,
    Cuda,
    CoreMl,
    Cpu,
}

public static class ExecutionProviders
{
    /// <summary>ONNX Runtime's own name for the provider, as <c>OrtEnv.GetAvailableProviders()</c> lists it.</summary>
    public static string OrtName(this ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.TensorRt => "TensorrtExecutionProvider",
        ExecutionProvider.Cuda => "CUDAExecutionProvider",
        ExecutionProvider.CoreMl => "CoreMLExecutionProvider",
        _ => "CPUExecutionProvider",
    };

    /// <summary>Parses a config value such as "tensorrt,cuda,cpu" (case-insensitive).</summary>
    public static IReadOnlyList<ExecutionProvider> Parse(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => name.ToLowerInvariant() switch
            {
                "tensorrt" or "trt" => ExecutionProvider.TensorRt,
                "cuda" => ExecutionProvider.Cuda,
                "coreml" => ExecutionProvider.CoreMl,
                "cpu" => ExecutionProvider.Cpu,
                _ => throw new ArgumentException($"unknown execution provider '{name}' (known: tensorrt, cuda, coreml, cpu)"),
            })
            .ToList();
}
