using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Inference.Models.Presets;

/// <summary>A graph input or output as the file declares it; shape -1 is a dynamic dimension, a null shape an undeclared one.</summary>
public sealed record OnnxTensorInfo(string Name, string DType, long[]? Shape);

/// <summary>Reads an ONNX file with the generated protobuf classes: its signature and its initializers, without running it.</summary>
public static class OnnxModelFile
{
    private const string ExportHint = "give the .onnx file itself; PyTorch (.pth) or safetensors weights must be exported to ONNX first";

    public static ModelProto Parse(string path, byte[] bytes)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelStoreException(path, $"not an ONNX model (it does not parse as an ONNX protobuf: {e.Message}); {ExportHint}", e);
        }
        // Protobuf parses many non-ONNX byte strings as unknown fields; a model has an IR version and a graph.
        if (model.IrVersion <= 0 || model.Graph is null || model.Graph.Node.Count == 0)
            throw new ModelStoreException(path, $"not an ONNX model (no IR version or no graph in it); {ExportHint}");
        return model;
    }

    /// <summary>The inputs a caller feeds: graph inputs that are not initializers (older IR versions list weights as inputs too).</summary>
    public static IReadOnlyList<OnnxTensorInfo> Inputs(ModelProto model)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(Info).ToList();
    }

    public static IReadOnlyList<OnnxTensorInfo> Outputs(ModelProto model) => model.Graph.Output.Select(Info).ToList();

    /// <summary>The opset of the default ONNX domain.</summary>
    public static int Opset(ModelProto model) =>
        (int)(model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0);

    /// <summary>The values of a float initializer stored in the file (raw_data or float_data).</summary>
    public static float[] Floats(string path, TensorProto tensor)
    {
        if (tensor.DataType != (int)DataType.Float)
            throw new ModelStoreException(path, $"initializer '{tensor.Name}' is {DTypeName(tensor.DataType)}, float32 was expected");
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            throw new ModelStoreException(path, $"initializer '{tensor.Name}' is stored in an external file; save the model with its weights inside");
        var values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() // little-endian, as ONNX stores raw_data
            : tensor.FloatData.ToArray();
        var count = tensor.Dims.Aggregate(1L, (n, d) => n * d);
        if (values.Length != count)
            throw new ModelStoreException(path, $"initializer '{tensor.Name}' holds {values.Length} values, its shape [{string.Join(",", tensor.Dims)}] needs {count}");
        return values;
    }

    public static string DTypeName(int type) => (DataType)type switch
    {
        DataType.Float => "float32",
        DataType.Double => "float64",
        DataType.Float16 => "float16",
        DataType.Bfloat16 => "bfloat16",
        DataType.Undefined => "undefined",
        var t when Enum.IsDefined(t) => t.ToString().ToLowerInvariant(),
        _ => $"type {type}",
    };

    private static OnnxTensorInfo Info(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null) return new OnnxTensorInfo(value.Name, "not a tensor", null);
        var shape = tensor.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L).ToArray();
        return new OnnxTensorInfo(value.Name, DTypeName(tensor.ElemType), shape);
    }
}
