namespace FaceSwap.Inference.TfJs;

/// <summary>A TensorFlow.js graph model as read from model.json and its weight shards.</summary>
public sealed record TfjsGraphModel(
    string ModelJsonPath,
    IReadOnlyList<TfNode> Nodes,
    IReadOnlyDictionary<string, TfTensor> Weights,
    IReadOnlyList<string> SignatureOutputs,
    string? ConvertedBy,
    string? GeneratedBy);

/// <summary>One node of the TensorFlow graph: op, inputs (":0" and control inputs already stripped) and attributes.</summary>
public sealed record TfNode(string Name, string Op, IReadOnlyList<string> Inputs, IReadOnlyDictionary<string, TfAttr> Attrs)
{
    public TfAttr? Attr(string name) => Attrs.TryGetValue(name, out var attr) ? attr : null;
    public string String(string name, string fallback = "") => Attr(name)?.S ?? fallback;
    public long Int(string name, long fallback = 0) => Attr(name)?.I ?? fallback;
    public bool Bool(string name, bool fallback = false) => Attr(name)?.B ?? fallback;
    public float Float(string name, float fallback = 0) => Attr(name)?.F ?? fallback;
    public long[] Ints(string name) => Attr(name)?.Ints ?? [];
    public string[] Strings(string name) => Attr(name)?.Strings ?? [];
}

/// <summary>A node attribute; only the fields the model set are filled.</summary>
public sealed record TfAttr(string? S = null, long? I = null, float? F = null, bool? B = null, long[]? Ints = null, string[]? Strings = null, string? Type = null);

public enum TfDType { Float32, Int32 }

/// <summary>A constant tensor from the weights manifest, dequantised to its logical dtype.</summary>
public sealed record TfTensor(string Name, TfDType DType, int[] Shape, float[]? Floats, int[]? Ints)
{
    public int Count => Shape.Aggregate(1, (a, b) => a * b);
}
