using FaceSwap.Inference.Models;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace FaceSwap.Inference.Runtime;

/// <summary>
/// A verified model loaded into ONNX Runtime on the first execution provider that starts. It reports the
/// provider it really runs on; falling back is always logged, never silent. Warmed up at load.
/// </summary>
public sealed class ModelSession : IDisposable
{
    private ModelSession(ModelManifest manifest, InferenceSession session, ExecutionProvider provider, long bytes)
    {
        Manifest = manifest;
        Session = session;
        Provider = provider;
        Bytes = bytes;
    }

    public ModelManifest Manifest { get; }
    public InferenceSession Session { get; }
    public ExecutionProvider Provider { get; }
    public string Name => Manifest.Name;
    /// <summary>The model file's size: what the placement coordinator counts as the memory it takes once loaded.</summary>
    public long Bytes { get; }

    public static ModelSession Open(ModelStore store, string name, InferenceOptions options, ILogger logger)
    {
        var manifest = store.Get(name);
        var path = store.VerifiedPath(manifest);
        var available = OrtEnv.Instance().GetAvailableProviders();
        var precision = options.PrecisionOf(name);
        if (precision == Precision.Fp16 && Precisions.DistortInFp16.Contains(manifest.Preset ?? name))
            logger.LogWarning("{Model}: FP16 requested; its FP16 output is known to distort faces, FP32 is its default", name);
        var candidates = options.Providers.ToList();
        if (options.CpuFallback && !candidates.Contains(ExecutionProvider.Cpu)) candidates.Add(ExecutionProvider.Cpu);

        foreach (var provider in candidates)
        {
            if (!available.Contains(provider.OrtName()))
            {
                logger.LogWarning("{Model}: {Provider} requested, but this ONNX Runtime build offers only {Available}; trying the next provider",
                    name, provider, string.Join(", ", available));
                continue;
            }
            var sessionOptions = BaseOptions(options);
            try
            {
                AppendProvider(sessionOptions, provider, options.DeviceId, precision, Path.Combine(Path.GetDirectoryName(path)!, "tensorrt-cache"));
                if (precision == Precision.Fp16 && provider != ExecutionProvider.TensorRt)
                    logger.LogInformation("{Model}: FP16 is TensorRT's setting; on {Provider} the model runs as exported", name, provider);
                var session = new InferenceSession(path, sessionOptions);
                var result = new ModelSession(manifest, session, provider, new FileInfo(path).Length);
                if (provider != options.Providers.FirstOrDefault())
                    logger.LogWarning("{Model}: runs on {Provider}, not on the preferred {Preferred}", name, provider, options.Providers.FirstOrDefault());
                else
                    logger.LogInformation("{Model}: runs on {Provider}", name, provider);
                if (options.WarmUp) result.WarmUp();
                return result;
            }
            catch (OnnxRuntimeException e) when (provider == ExecutionProvider.Cpu)
            {
                // CPU always starts: a failure there is the model's, not the provider's.
                throw new ModelStoreException(path, $"not a loadable ONNX model: {e.Message}", e);
            }
            catch (OnnxRuntimeException e)
            {
                logger.LogWarning(e, "{Model}: {Provider} failed to start ({Reason}); trying the next provider", name, provider, e.Message);
            }
            finally
            {
                sessionOptions.Dispose();
            }
        }
        throw new InferenceProviderException(name, $"none of the execution providers [{string.Join(", ", candidates)}] could run the model (this build offers {string.Join(", ", available)})");
    }

    private static SessionOptions BaseOptions(InferenceOptions options) => new()
    {
        IntraOpNumThreads = options.IntraOpThreads,
        InterOpNumThreads = options.InterOpThreads,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    private static void AppendProvider(SessionOptions options, ExecutionProvider provider, int deviceId, Precision precision, string engineCache)
    {
        switch (provider)
        {
            case ExecutionProvider.TensorRt:
                using (var tensorRt = new OrtTensorRTProviderOptions())
                {
                    tensorRt.UpdateOptions(new Dictionary<string, string>(Precisions.TensorRtOptions(deviceId, precision, engineCache)));
                    options.AppendExecutionProvider_Tensorrt(tensorRt);
                }
                break;
            case ExecutionProvider.Cuda: options.AppendExecutionProvider_CUDA(deviceId); break;
            case ExecutionProvider.CoreMl: options.AppendExecutionProvider_CoreML(); break;
            case ExecutionProvider.Cpu: break; // ONNX Runtime's default
        }
    }

    /// <summary>Buffers for batches of <paramref name="batch"/>, bound once; each run then allocates nothing.</summary>
    public BoundInference Bind(int batch = 1) => new(this, batch);

    // The first run builds kernels and arenas; doing it at load keeps that cost off the first frame. Bound buffers
    // are float32 with fixed sizes past the batch: other models (a float64 input, an open image size) warm up on first use.
    private void WarmUp()
    {
        if (!Manifest.Inputs.Concat(Manifest.Outputs).All(t => t.DType == "float32" && t.Shape.Skip(1).All(d => d > 0))) return;
        using var bound = Bind();
        bound.Run();
    }

    public void Dispose() => Session.Dispose();
}
