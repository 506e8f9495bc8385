using FaceSwap.Inference.TfJs;

namespace FaceSwap.Inference.Tests;

/// <summary>Weights stored quantised in the shard come back as the float32 values tfjs would use.</summary>
public sealed class TfjsWeightDecodingTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private TfjsGraphModel Read(string weightsJson, byte[] shard)
    {
        File.WriteAllBytes(Path.Combine(_dir.Path, "m.bin"), shard);
        var path = Path.Combine(_dir.Path, "m.json");
        File.WriteAllText(path, $$"""
            {"format": "graph-model", "modelTopology": {"node": [{"name": "c", "op": "Const"}]},
             "weightsManifest": [{"paths": ["m.bin"], "weights": [{{weightsJson}}]}]}
            """);
        return TfjsGraphModelReader.Read(path);
    }

    [Fact]
    public void Uint8_affine_quantisation_is_value_times_scale_plus_min()
    {
        var model = Read("""{"name": "c", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}}""", [0, 2, 4]);
        Assert.Equal([-1f, 0f, 1f], model.Weights["c"].Floats!);
    }

    [Fact]
    public void Uint16_affine_quantisation_is_value_times_scale_plus_min()
    {
        var model = Read("""{"name": "c", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.25, "min": 0}}""", [0x00, 0x01, 0x04, 0x00]);
        Assert.Equal([64f, 1f], model.Weights["c"].Floats!);
    }

    [Fact]
    public void Float16_storage_decodes_to_float32()
    {
        var half = BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)1.5f)).Concat(BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)(-0.25f)))).ToArray();
        var model = Read("""{"name": "c", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}}""", half);
        Assert.Equal([1.5f, -0.25f], model.Weights["c"].Floats!);
    }

    [Fact]
    public void Unsupported_dtype_is_refused_naming_the_weight()
    {
        var error = Assert.Throws<TfjsModelException>(() => Read("""{"name": "c", "shape": [1], "dtype": "string"}""", [0]));
        Assert.Contains("weight 'c' has dtype 'string'", error.Problem);
    }
}
