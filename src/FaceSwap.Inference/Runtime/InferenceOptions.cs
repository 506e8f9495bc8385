namespace FaceSwap.Inference.Runtime;

/// <summary>How models are run: providers in order of preference, threads, device, warm-up.</summary>
public sealed record InferenceOptions
{
    /// <summary>Tried in order; the first that starts is used, every one skipped is logged with its reason.</summary>
    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = DefaultProviders;

    /// <summary>What this build can run: the GPU build tries TensorRT, then CUDA, then CPU; the CPU build, CPU.</summary>
    public static readonly IReadOnlyList<ExecutionProvider> DefaultProviders =
#if ONNXRUNTIME_GPU
        [ExecutionProvider.TensorRt, ExecutionProvider.Cuda, ExecutionProvider.Cpu];
#else
        [ExecutionProvider.Cpu];
#endif

    /// <summary>When no listed provider starts: fall back to CPU (logged) rather than refuse to load.</summary>
    public bool CpuFallback { get; init; } = true;

    /// <summary>Threads inside one operator; 1 keeps one model on one core, so many streams scale across cores.</summary>
    public int IntraOpThreads { get; init; } = 1;
    public int InterOpThreads { get; init; } = 1;
    public int DeviceId { get; init; }
    public bool WarmUp { get; init; } = true;

    /// <summary>Per-model precision by model name; FP32 for any model not named (inswapper_128's FP16 is known to distort).</summary>
    public IReadOnlyDictionary<string, Precision> ModelPrecision { get; init; } = new Dictionary<string, Precision>();

    public Precision PrecisionOf(string model) => ModelPrecision.TryGetValue(model, out var precision) ? precision : Precision.Fp32;
}
