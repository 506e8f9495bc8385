namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// A simulated gpu-worker's device and its models: what detect runs per frame, what swap runs once per stream
/// (the source identity's embedding) and per face, and the enhancer streams may ask for.
/// </summary>
public sealed record SimulatedProfile(string Device, long MemoryBytes, SimulatedModel Detector, SimulatedModel? Embedder,
    SimulatedModel Swapper, SimulatedModel? Enhancer)
{
    private const long MiB = 1024 * 1024;

    /// <summary>The model name a stream's settings use for <see cref="Enhancer"/>.</summary>
    public const string EnhancerName = "gfpgan_1.4";

    public IEnumerable<SimulatedModel> Models => new[] { Detector, Embedder, Swapper, Enhancer }.OfType<SimulatedModel>();

    /// <summary>The device memory the whole unit holds (placed as one, as face-analysis is).</summary>
    public long DeviceBytes => Models.Sum(m => m.DeviceBytes);

    /// <summary>
    /// The bring-your-own pack (SCRFD-10G-KPS, ArcFace w600k_r50, inswapper_128, GFPGAN v1.4) on an NVIDIA RTX 3080 Ti
    /// (12 GiB), FP32 through ONNX Runtime's CUDA provider. Batch-1 figures, where published:
    /// <list type="bullet">
    /// <item>SCRFD-10G-KPS: 5.0 ms at VGA, insightface's detection/scrfd README model table ("Infer(ms)"; its card is not named there).</item>
    /// <item>ArcFace w600k_r50 (an IResNet-50): no per-call figure published; ResNet-50 at 224×224 takes 3.35 ms on an RTX 3080
    /// (mortred_model_server's "Model Inference Benchmark" page, cuda backend): taken as is, the 112×112 input makes it an upper bound. Runs once per stream.</item>
    /// <item>inswapper_128: no per-call figure found published. Assumed 8 ms per face (138.3 M parameters, inswapper-512-live's model table; between
    /// ResNet-50's 3.35 ms and GFPGAN's 28 ms). Replace it with a measurement on the farm's card.</item>
    /// <item>GFPGAN v1.4: 28 ms per 512×512 face, GFPGANv1.3.onnx FP32 on an RTX 3080 Ti after warm-up (xuanandsix/GFPGAN-onnxruntime-demo issue #4;
    /// v1.4 has the same network).</item>
    /// </list>
    /// The figures are batch 1; the split is ours: 1.5 ms of each (2 ms of GFPGAN's) is the per-run cost (input/output copies, launches,
    /// the stream's sync) that a batch pays once, the rest is per face. Device memory: the ONNX file (det_10g.onnx 16.9 MB,
    /// w600k_r50.onnx 174 MB, inswapper_128.onnx 554 MB, gfpgan_1.4.onnx 340 MB) twice over, for the CUDA arena's activations and cuDNN workspace at max batch.
    /// </summary>
    public static SimulatedProfile Rtx3080Ti { get; } = new("NVIDIA RTX 3080 Ti", 12L * 1024 * MiB,
        new SimulatedModel("scrfd_10g", 1.5, 3.5, 2 * 17 * MiB),
        new SimulatedModel("arcface_w600k_r50", 1.5, 1.85, 2 * 166 * MiB),
        new SimulatedModel("inswapper_128", 1.5, 6.5, 2 * 529 * MiB),
        new SimulatedModel(EnhancerName, 2, 26, 2 * 325 * MiB));

    /// <exception cref="ArgumentException">a model or the memory out of range, named</exception>
    public SimulatedProfile Validated()
    {
        foreach (var model in Models) model.Validated();
        if (MemoryBytes <= 0) throw new ArgumentException($"{Device}: device memory {MemoryBytes} bytes must be positive");
        return this;
    }
}
