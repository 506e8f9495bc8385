namespace FaceSwap.Inference.Runtime;

/// <summary>The arithmetic a model runs in. FP16 is TensorRT's build flag; on CUDA and CPU a model runs as exported.</summary>
public enum Precision
{
    Fp32,
    Fp16,
}

public static class Precisions
{
    /// <summary>Models whose FP16 output is known to be wrong: FP16 for them is allowed but warned about.</summary>
    public static readonly IReadOnlySet<string> DistortInFp16 = new HashSet<string>(StringComparer.Ordinal) { "inswapper_128" };

    public static Precision Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Fp32,
        "fp16" or "float16" => Precision.Fp16,
        _ => throw new ArgumentException($"unknown precision '{text}' (known: fp32, fp16)"),
    };

    /// <summary>TensorRT's provider options for one model: the device, FP16 on or off, and an engine cache so a restart does not rebuild.</summary>
    public static IReadOnlyDictionary<string, string> TensorRtOptions(int deviceId, Precision precision, string engineCache) => new Dictionary<string, string>
    {
        ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["trt_fp16_enable"] = precision == Precision.Fp16 ? "1" : "0",
        ["trt_engine_cache_enable"] = "1",
        ["trt_engine_cache_path"] = engineCache,
    };
}
