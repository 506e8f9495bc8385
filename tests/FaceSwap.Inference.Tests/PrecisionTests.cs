using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Inference.Tests;

/// <summary>Per-model precision: FP32 unless named, TensorRT's FP16 flag from it, and a warning for inswapper_128 in FP16.</summary>
public sealed class PrecisionTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Models_run_in_fp32_unless_the_config_names_them()
    {
        var options = new InferenceOptions { ModelPrecision = new Dictionary<string, Precision> { ["gfpgan_1.4"] = Precisions.Parse("FP16") } };
        Assert.Equal(Precision.Fp16, options.PrecisionOf("gfpgan_1.4"));
        Assert.Equal(Precision.Fp32, options.PrecisionOf("inswapper_128"));
        Assert.Throws<ArgumentException>(() => Precisions.Parse("int8"));
    }

    [Fact]
    public void TensorRt_gets_its_fp16_flag_and_an_engine_cache_from_the_models_precision()
    {
        var fp16 = Precisions.TensorRtOptions(1, Precision.Fp16, "/models/tensorrt-cache");
        Assert.Equal(("1", "1", "1", "/models/tensorrt-cache"), (fp16["device_id"], fp16["trt_fp16_enable"], fp16["trt_engine_cache_enable"], fp16["trt_engine_cache_path"]));
        Assert.Equal("0", Precisions.TensorRtOptions(0, Precision.Fp32, "c")["trt_fp16_enable"]);
    }

    [Fact]
    public void A_generated_inswapper_opened_in_fp16_is_warned_about_and_still_runs()
    {
        var path = Path.Combine(_dir.Path, "inswapper.onnx");
        File.WriteAllBytes(path, PresetTests.GeneratedInswapper());
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        PresetChecker.Add(store, PresetChecker.Check(path, ModelPresets.Inswapper128 with { Sha256 = null }));
        var logger = new ModelSessionTests.ListLogger();
        var options = new InferenceOptions { ModelPrecision = new Dictionary<string, Precision> { ["inswapper_128"] = Precision.Fp16 } };
        using var session = ModelSession.Open(store, "inswapper_128", options, logger);
        Assert.Contains(logger.Lines, m => m.Level == LogLevel.Warning && m.Text.Contains("FP16 output is known to distort"));
        Assert.Contains(logger.Lines, m => m.Text.Contains("FP16 is TensorRT's setting; on Cpu the model runs as exported"));
    }
}
