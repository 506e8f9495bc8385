using Google.Protobuf;
using Onnx;

namespace FaceSwap.Inference.Onnx;

/// <summary>One dimension of a graph input or output: a fixed size, or a named symbolic size such as "batch".</summary>
public readonly record struct OnnxDim(long Value, string? Symbol = null)
{
    public static implicit operator OnnxDim(long value) => new(value);
    public static OnnxDim Named(string symbol) => new(-1, symbol);
    public override string ToString() => Symbol ?? Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Builds an ONNX graph node by node: the writer behind the TF.js converter and the tests that need generated models.
/// Tensor names are kept unique; names reserved for graph outputs are never handed out to intermediate tensors.
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>Opset 17 is the newest that Debian's onnx.proto (ONNX 1.12, IR version 8) describes.</summary>
    public const int DefaultOpset = 17;
    public const long IrVersion = 8;

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string graphName, int opset = DefaultOpset)
    {
        _graph = new GraphProto { Name = graphName };
        Opset = opset;
    }

    public int Opset { get; }

    /// <summary>Keeps <paramref name="name"/> free for a graph output that is written last.</summary>
    public void Reserve(string name) => _reserved.Add(name);

    /// <summary>A tensor name derived from <paramref name="hint"/> that no other tensor in the graph has.</summary>
    public string UniqueName(string hint)
    {
        var name = hint;
        for (var i = 1; _names.Contains(name) || _reserved.Contains(name); i++)
            name = $"{hint}_{i}";
        _names.Add(name);
        return name;
    }

    private string Claim(string name)
    {
        if (!_names.Add(name))
            throw new InvalidOperationException($"ONNX tensor name '{name}' is already used in graph '{_graph.Name}'.");
        _reserved.Remove(name);
        return name;
    }

    public string AddInput(string name, TensorProto.Types.DataType type, params OnnxDim[] dims)
    {
        _graph.Input.Add(ValueInfo(Claim(name), type, dims));
        return name;
    }

    /// <summary>Declares <paramref name="name"/> (already produced by a node) as a graph output.</summary>
    public void AddOutput(string name, TensorProto.Types.DataType type, params OnnxDim[] dims)
    {
        if (!_names.Contains(name))
            throw new InvalidOperationException($"Graph output '{name}' is produced by no node of graph '{_graph.Name}'.");
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    public string AddInitializer(string hint, ReadOnlySpan<float> data, params long[] dims) =>
        AddInitializer(hint, data, TensorProto.Types.DataType.Float, dims);

    public string AddInitializer(string hint, ReadOnlySpan<long> data, params long[] dims) =>
        AddInitializer(hint, data, TensorProto.Types.DataType.Int64, dims);

    public string AddInitializer(string hint, ReadOnlySpan<int> data, params long[] dims) =>
        AddInitializer(hint, data, TensorProto.Types.DataType.Int32, dims);

    // raw_data is little-endian, as on every machine .NET and ONNX Runtime run on here.
    private string AddInitializer<T>(string hint, ReadOnlySpan<T> data, TensorProto.Types.DataType type, long[] dims) where T : unmanaged
    {
        CheckCount(hint, data.Length, dims);
        var tensor = NewTensor(UniqueName(hint), type, dims);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a node with one output, named <paramref name="output"/> or, where that is taken or reserved, a unique name from it.</summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes) =>
        AddNode(opType, inputs, [UniqueName(output)], attributes)[0];

    /// <summary>Adds the node that writes graph output <paramref name="output"/>, a name kept free by <see cref="Reserve"/> or never used.</summary>
    public string AddOutputNode(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes) =>
        AddNode(opType, inputs, [Claim(output)], attributes)[0];

    private IReadOnlyList<string> AddNode(string opType, IReadOnlyList<string> inputs, string[] claimedOutputs, OnnxAttribute[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = UniqueNodeName(claimedOutputs[0]) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(claimedOutputs);
        foreach (var attribute in attributes)
            node.Attribute.Add(attribute.ToProto());
        _graph.Node.Add(node);
        return node.Output;
    }

    private string UniqueNodeName(string hint)
    {
        var name = hint;
        for (var i = 1; !_nodeNames.Add(name); i++)
            name = $"{hint}_{i}";
        return name;
    }

    public ModelProto Build(string producer, string producerVersion, string docString, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = producer,
            ProducerVersion = producerVersion,
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (metadata is not null)
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private static void CheckCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (var d in dims) expected *= d;
        if (expected != count)
            throw new ArgumentException($"Initializer '{name}' has {count} values but its shape [{string.Join(",", dims)}] holds {expected}.");
    }

    private static TensorProto NewTensor(string name, TensorProto.Types.DataType type, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, OnnxDim[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim.Symbol is null
                ? new TensorShapeProto.Types.Dimension { DimValue = dim.Value }
                : new TensorShapeProto.Types.Dimension { DimParam = dim.Symbol });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}

/// <summary>A node attribute; the factory methods pick the ONNX attribute type.</summary>
public sealed record OnnxAttribute(string Name, AttributeProto.Types.AttributeType Type, long Int = 0, float Float = 0, string? String = null, long[]? Ints = null, float[]? Floats = null)
{
    public static OnnxAttribute Of(string name, long value) => new(name, AttributeProto.Types.AttributeType.Int, Int: value);
    public static OnnxAttribute Of(string name, float value) => new(name, AttributeProto.Types.AttributeType.Float, Float: value);
    public static OnnxAttribute Of(string name, string value) => new(name, AttributeProto.Types.AttributeType.String, String: value);
    public static OnnxAttribute Of(string name, params long[] values) => new(name, AttributeProto.Types.AttributeType.Ints, Ints: values);
    public static OnnxAttribute Of(string name, params float[] values) => new(name, AttributeProto.Types.AttributeType.Floats, Floats: values);

    public AttributeProto ToProto()
    {
        var proto = new AttributeProto { Name = Name, Type = Type };
        switch (Type)
        {
            case AttributeProto.Types.AttributeType.Int: proto.I = Int; break;
            case AttributeProto.Types.AttributeType.Float: proto.F = Float; break;
            case AttributeProto.Types.AttributeType.String: proto.S = ByteString.CopyFromUtf8(String ?? ""); break;
            case AttributeProto.Types.AttributeType.Ints: proto.Ints.AddRange(Ints ?? []); break;
            case AttributeProto.Types.AttributeType.Floats: proto.Floats.AddRange(Floats ?? []); break;
            default: throw new NotSupportedException($"Attribute type {Type} of '{Name}' is not written by OnnxGraphBuilder.");
        }
        return proto;
    }
}
