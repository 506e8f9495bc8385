using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FaceSwap.Inference.TfJs;

/// <summary>
/// Reads a TF.js graph model (model.json + binary weight shards, format of tfjs-converter 1.x–4.x).
/// Every failure is a <see cref="TfjsModelException"/> naming the file and the problem.
/// </summary>
public static class TfjsGraphModelReader
{
    public static TfjsGraphModel Read(string modelJsonPath)
    {
        var path = Path.GetFullPath(modelJsonPath);
        if (!File.Exists(path))
            throw new TfjsModelException(path, "model.json not found");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TfjsModelException(path, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }

        using (document)
        {
            try
            {
                return Read(path, document.RootElement);
            }
            // The JSON is valid but not what a graph model holds where it should: a value of the wrong kind (a number
            // where a name is), a string of invalid UTF-8, a malformed number or base64 (found by ModelFileFuzzTests).
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or OverflowException or ArgumentException)
            {
                throw new TfjsModelException(path, $"malformed graph model: {e.Message}", e);
            }
        }
    }

    private static TfjsGraphModel Read(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new TfjsModelException(path, "top level is not a JSON object");
        var format = OptionalString(root, "format");
        if (format is not null && format != "graph-model")
            throw new TfjsModelException(path, $"format is '{format}', only 'graph-model' is supported (layers models must be saved as graph models)");
        if (!root.TryGetProperty("modelTopology", out var topology) || !topology.TryGetProperty("node", out var nodesJson) || nodesJson.ValueKind != JsonValueKind.Array)
            throw new TfjsModelException(path, "no modelTopology.node array: not a TF.js graph model");
        if (topology.TryGetProperty("library", out var library) && library.TryGetProperty("function", out var functions) && functions.GetArrayLength() > 0)
            throw new TfjsModelException(path, "the graph uses control-flow functions (modelTopology.library), which the converter does not support");
        if (!root.TryGetProperty("weightsManifest", out var manifest) || manifest.ValueKind != JsonValueKind.Array)
            throw new TfjsModelException(path, "no weightsManifest array");

        var nodes = new List<TfNode>();
        foreach (var node in nodesJson.EnumerateArray())
            nodes.Add(ReadNode(path, node));
        var weights = ReadWeights(path, manifest);
        return new TfjsGraphModel(path, nodes, weights, ReadSignatureOutputs(root),
            OptionalString(root, "convertedBy"), OptionalString(root, "generatedBy"));
    }

    private static TfNode ReadNode(string path, JsonElement node)
    {
        var name = OptionalString(node, "name") ?? throw new TfjsModelException(path, "a node has no name");
        var op = OptionalString(node, "op") ?? throw new TfjsModelException(path, $"node '{name}' has no op");
        var inputs = new List<string>();
        if (node.TryGetProperty("input", out var inputJson))
            foreach (var input in inputJson.EnumerateArray())
            {
                var text = input.GetString() ?? "";
                if (text.StartsWith('^')) continue; // control dependency: orders execution, carries no data
                inputs.Add(text.EndsWith(":0", StringComparison.Ordinal) ? text[..^2] : text);
            }
        var attrs = new Dictionary<string, TfAttr>(StringComparer.Ordinal);
        if (node.TryGetProperty("attr", out var attrJson))
            foreach (var attr in attrJson.EnumerateObject())
                attrs[attr.Name] = ReadAttr(path, name, attr.Name, attr.Value);
        return new TfNode(name, op, inputs, attrs);
    }

    private static TfAttr ReadAttr(string path, string node, string name, JsonElement value)
    {
        try
        {
            if (value.TryGetProperty("list", out var list))
                return new TfAttr(
                    Ints: list.TryGetProperty("i", out var i) ? i.EnumerateArray().Select(ReadInt).ToArray() : [],
                    Strings: list.TryGetProperty("s", out var s) ? s.EnumerateArray().Select(x => Base64Text(x.GetString())).ToArray() : []);
            if (value.TryGetProperty("s", out var str)) return new TfAttr(S: Base64Text(str.GetString()));
            if (value.TryGetProperty("i", out var integer)) return new TfAttr(I: ReadInt(integer));
            if (value.TryGetProperty("f", out var f)) return new TfAttr(F: f.ValueKind == JsonValueKind.String ? float.Parse(f.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : f.GetSingle());
            if (value.TryGetProperty("b", out var b)) return new TfAttr(B: b.GetBoolean());
            if (value.TryGetProperty("type", out var type)) return new TfAttr(Type: type.GetString());
            if (value.TryGetProperty("shape", out var shape)) // dims of a Placeholder; an unknown size is -1
                return new TfAttr(Ints: shape.TryGetProperty("dim", out var dims) ? dims.EnumerateArray().Select(d => d.TryGetProperty("size", out var size) ? ReadInt(size) : -1).ToArray() : []);
            return new TfAttr();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or OverflowException)
        {
            throw new TfjsModelException(path, $"attribute '{name}' of node '{node}' is malformed: {e.Message}", e);
        }
    }

    // Protobuf's JSON form writes int64 as strings.
    private static long ReadInt(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : e.GetInt64();

    private static string Base64Text(string? base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64 ?? ""));

    private static IReadOnlyList<string> ReadSignatureOutputs(JsonElement root)
    {
        JsonElement signature = default;
        var found = (root.TryGetProperty("signature", out signature) && signature.ValueKind == JsonValueKind.Object)
            || (root.TryGetProperty("userDefinedMetadata", out var meta) && meta.ValueKind == JsonValueKind.Object
                && meta.TryGetProperty("signature", out signature) && signature.ValueKind == JsonValueKind.Object);
        if (!found || !signature.TryGetProperty("outputs", out var outputs) || outputs.ValueKind != JsonValueKind.Object)
            return [];
        var names = new List<string>();
        foreach (var output in outputs.EnumerateObject())
        {
            var name = OptionalString(output.Value, "name") ?? output.Name;
            names.Add(name.EndsWith(":0", StringComparison.Ordinal) ? name[..^2] : name);
        }
        return names;
    }

    private static Dictionary<string, TfTensor> ReadWeights(string path, JsonElement manifest)
    {
        var weights = new Dictionary<string, TfTensor>(StringComparer.Ordinal);
        var directory = Path.GetDirectoryName(path)!;
        var groupIndex = 0;
        foreach (var group in manifest.EnumerateArray())
        {
            var shardNames = group.TryGetProperty("paths", out var paths) ? paths.EnumerateArray().Select(p => p.GetString() ?? "").ToList() : [];
            if (shardNames.Count == 0)
                throw new TfjsModelException(path, $"weightsManifest group {groupIndex} lists no shard paths");
            var bytes = ReadShards(path, directory, shardNames);
            var offset = 0L;
            foreach (var entry in group.GetProperty("weights").EnumerateArray())
            {
                var spec = WeightSpec.Parse(path, entry);
                if (offset + spec.ByteLength > bytes.Length)
                {
                    var shard = shardNames[^1];
                    throw new TfjsModelException(Path.Combine(directory, shard),
                        $"weight shard is truncated: weightsManifest group {groupIndex} needs at least {offset + spec.ByteLength} bytes for weight '{spec.Name}', the shards ({string.Join(", ", shardNames)}) hold {bytes.Length}");
                }
                weights[spec.Name] = spec.Decode(bytes.AsSpan((int)offset, (int)spec.ByteLength));
                offset += spec.ByteLength;
            }
            if (offset != bytes.Length)
                throw new TfjsModelException(Path.Combine(directory, shardNames[^1]),
                    $"weight shards of group {groupIndex} hold {bytes.Length} bytes but the weightsManifest describes {offset}: shard and model.json do not belong together");
            groupIndex++;
        }
        return weights;
    }

    // A group's shards are one byte stream cut into files; its weights lie in it back to back.
    private static byte[] ReadShards(string path, string directory, List<string> shardNames)
    {
        using var buffer = new MemoryStream();
        foreach (var name in shardNames)
        {
            var shardPath = Path.GetFullPath(Path.Combine(directory, name));
            if (!shardPath.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new TfjsModelException(path, $"weight shard path '{name}' leaves the model's folder");
            if (!File.Exists(shardPath))
                throw new TfjsModelException(shardPath, $"weight shard '{name}' listed in the weightsManifest of {Path.GetFileName(path)} is missing");
            using (var shard = File.OpenRead(shardPath))
                shard.CopyTo(buffer);
        }
        return buffer.ToArray();
    }

    private static string? OptionalString(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>One weightsManifest entry: logical dtype, shape, and how it is stored (plain, float16, or affine uint8/uint16).</summary>
    private sealed record WeightSpec(string File, string Name, TfDType DType, int[] Shape, string Storage, float Scale, float Min)
    {
        public int Count => Shape.Aggregate(1, (a, b) => a * b);
        public long ByteLength => (long)Count * Storage switch { "uint8" => 1, "uint16" or "float16" => 2, _ => 4 };

        public static WeightSpec Parse(string file, JsonElement e)
        {
            var name = OptionalString(e, "name") ?? throw new TfjsModelException(file, "a weightsManifest entry has no name");
            var dtypeText = OptionalString(e, "dtype") ?? "float32";
            var dtype = dtypeText switch
            {
                "float32" => TfDType.Float32,
                "int32" => TfDType.Int32,
                _ => throw new TfjsModelException(file, $"weight '{name}' has dtype '{dtypeText}', only float32 and int32 are supported"),
            };
            var shape = e.TryGetProperty("shape", out var s) ? s.EnumerateArray().Select(x => x.GetInt32()).ToArray() : [];
            if (shape.Any(d => d < 0))
                throw new TfjsModelException(file, $"weight '{name}' has a negative dimension in shape [{string.Join(",", shape)}]");
            var storage = dtypeText;
            float scale = 1, min = 0;
            if (e.TryGetProperty("quantization", out var q))
            {
                storage = OptionalString(q, "dtype") ?? throw new TfjsModelException(file, $"weight '{name}' has a quantization without dtype");
                if (storage is not ("uint8" or "uint16" or "float16"))
                    throw new TfjsModelException(file, $"weight '{name}' is quantized as '{storage}', only uint8, uint16 and float16 are supported");
                if (storage is "uint8" or "uint16")
                {
                    scale = q.TryGetProperty("scale", out var sc) ? sc.GetSingle() : throw new TfjsModelException(file, $"weight '{name}' is affine-quantized but has no scale");
                    min = q.TryGetProperty("min", out var mn) ? mn.GetSingle() : throw new TfjsModelException(file, $"weight '{name}' is affine-quantized but has no min");
                }
            }
            return new WeightSpec(file, name, dtype, shape, storage, scale, min);
        }

        public TfTensor Decode(ReadOnlySpan<byte> bytes)
        {
            var count = Count;
            if (DType == TfDType.Int32 && Storage == "int32")
            {
                var ints = new int[count];
                for (var i = 0; i < count; i++) ints[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
                return new TfTensor(Name, DType, Shape, null, ints);
            }
            var values = new float[count];
            for (var i = 0; i < count; i++)
                values[i] = Storage switch
                {
                    "float32" => BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]),
                    "float16" => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]),
                    "uint8" => bytes[i] * Scale + Min,
                    "uint16" => BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) * Scale + Min,
                    _ => throw new TfjsModelException(File, $"weight '{Name}' stored as '{Storage}' cannot be decoded"),
                };
            if (DType == TfDType.Int32) // quantized int32: tfjs rounds back to integers
                return new TfTensor(Name, DType, Shape, null, values.Select(v => (int)MathF.Round(v)).ToArray());
            return new TfTensor(Name, DType, Shape, values, null);
        }
    }
}
