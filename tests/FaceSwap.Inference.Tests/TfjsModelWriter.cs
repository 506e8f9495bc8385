using System.Text;
using System.Text.Json.Nodes;

namespace FaceSwap.Inference.Tests;

/// <summary>Writes small TF.js graph models (model.json + one shard) by hand, for converter tests of single ops.</summary>
internal sealed class TfjsModelWriter
{
    private readonly JsonArray _nodes = [];
    private readonly JsonArray _weights = [];
    private readonly MemoryStream _shard = new();

    public string Placeholder(string name, params int[] shape)
    {
        _nodes.Add(new JsonObject
        {
            ["name"] = name, ["op"] = "Placeholder",
            ["attr"] = new JsonObject
            {
                ["dtype"] = new JsonObject { ["type"] = "DT_FLOAT" },
                ["shape"] = new JsonObject { ["shape"] = new JsonObject { ["dim"] = new JsonArray(shape.Select(d => (JsonNode)new JsonObject { ["size"] = d.ToString() }).ToArray()) } },
            },
        });
        return name;
    }

    public string Const(string name, float[] data, params int[] shape)
    {
        foreach (var v in data) _shard.Write(BitConverter.GetBytes(v));
        return AddConst(name, "float32", shape);
    }

    public string ConstInt(string name, int[] data, params int[] shape)
    {
        foreach (var v in data) _shard.Write(BitConverter.GetBytes(v));
        return AddConst(name, "int32", shape);
    }

    private string AddConst(string name, string dtype, int[] shape)
    {
        _nodes.Add(new JsonObject { ["name"] = name, ["op"] = "Const", ["attr"] = new JsonObject() });
        _weights.Add(new JsonObject { ["name"] = name, ["dtype"] = dtype, ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()) });
        return name;
    }

    public string Op(string name, string op, string[] inputs, JsonObject? attr = null)
    {
        _nodes.Add(new JsonObject { ["name"] = name, ["op"] = op, ["input"] = new JsonArray(inputs.Select(i => (JsonNode)i).ToArray()), ["attr"] = attr ?? [] });
        return name;
    }

    public static JsonObject S(string value) => new() { ["s"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) };
    public static JsonObject Ints(params long[] values) => new() { ["list"] = new JsonObject { ["i"] = new JsonArray(values.Select(v => (JsonNode)v.ToString()).ToArray()) } };
    public static JsonObject Strings(params string[] values) => new() { ["list"] = new JsonObject { ["s"] = new JsonArray(values.Select(v => (JsonNode)Convert.ToBase64String(Encoding.UTF8.GetBytes(v))).ToArray()) } };
    public static JsonObject B(bool value) => new() { ["b"] = value };
    public static JsonObject F(float value) => new() { ["f"] = value };

    /// <summary>The attributes of an NHWC convolution or pooling with unit dilations.</summary>
    public static JsonObject Spatial(string padding, int stride = 1) => new()
    {
        ["data_format"] = S("NHWC"), ["padding"] = S(padding), ["strides"] = Ints(1, stride, stride, 1), ["dilations"] = Ints(1, 1, 1, 1),
    };

    public string Write(string directory, string name = "model")
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name + ".bin"), _shard.ToArray());
        var model = new JsonObject
        {
            ["format"] = "graph-model",
            ["modelTopology"] = new JsonObject { ["node"] = _nodes.DeepClone() },
            ["weightsManifest"] = new JsonArray(new JsonObject { ["paths"] = new JsonArray((JsonNode)(name + ".bin")), ["weights"] = _weights.DeepClone() }),
        };
        var path = Path.Combine(directory, name + ".json");
        File.WriteAllText(path, model.ToJsonString());
        return path;
    }
}
