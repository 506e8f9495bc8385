using FaceSwap.Inference.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Inference.TfJs;

public sealed record TfjsConversionOptions
{
    /// <summary>Makes a batch dimension of 1 or -1 symbolic, so one session serves batches from many streams.</summary>
    public bool DynamicBatch { get; init; } = true;
    public string GraphName { get; init; } = "model";
}

/// <summary>An input or output of the converted model; -1 marks the (symbolic) batch dimension. Shapes are NHWC, as in TF.</summary>
public sealed record TensorSignature(string Name, string DType, long[] Shape);

public sealed record ConvertedModel(ModelProto Model, IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs, IReadOnlyDictionary<string, int> TfOps);

/// <summary>
/// Converts a TF.js graph model to ONNX. Inputs and outputs keep TF's NHWC layout; inside, 4-D tensors are carried
/// in ONNX's NCHW layout and transposed only where an op needs NHWC (reshape, reductions), so the graph stays clean
/// for CUDA, TensorRT and CoreML. An op it does not know stops the conversion with the op's and node's names.
/// </summary>
public sealed partial class TfjsToOnnxConverter
{
    private static readonly long[] ToNchw = [0, 3, 1, 2];
    private static readonly long[] ToNhwc = [0, 2, 3, 1];

    /// <summary>A converted TF tensor: its ONNX name, its TF (NHWC) shape with -1 for batch, and whether ONNX holds it as NCHW.</summary>
    private sealed record Value(string? Name, int[] Shape, bool Nchw, TfTensor? Const = null)
    {
        public int Rank => Shape.Length;
    }

    private readonly TfjsGraphModel _model;
    private readonly TfjsConversionOptions _options;
    private readonly OnnxGraphBuilder _graph;
    private readonly Dictionary<string, TfNode> _nodes;
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, bool), string> _layoutCache = new();

    private TfjsToOnnxConverter(TfjsGraphModel model, TfjsConversionOptions options)
    {
        _model = model;
        _options = options;
        _graph = new OnnxGraphBuilder(options.GraphName);
        _nodes = new Dictionary<string, TfNode>(StringComparer.Ordinal);
        foreach (var node in model.Nodes)
            if (!_nodes.TryAdd(node.Name, node))
                throw Error($"two nodes are named '{node.Name}'");
    }

    public static ConvertedModel Convert(TfjsGraphModel model, TfjsConversionOptions? options = null) =>
        new TfjsToOnnxConverter(model, options ?? new TfjsConversionOptions()).Run();

    private ConvertedModel Run()
    {
        var outputNames = OutputNames();
        var order = TopologicalOrder(outputNames);
        var unknown = order.Select(n => _nodes[n]).Where(n => !Handlers.ContainsKey(n.Op)).ToList();
        if (unknown.Count > 0)
            throw Error("unsupported TensorFlow op " + string.Join(", ", unknown.GroupBy(n => n.Op).Select(g => $"'{g.Key}' (node '{g.First().Name}')"))
                + $"; the converter knows: {string.Join(", ", Handlers.Keys.Order(StringComparer.Ordinal))}");

        foreach (var name in outputNames) _graph.Reserve(name);
        var inputs = new List<TensorSignature>();
        foreach (var name in order)
        {
            var node = _nodes[name];
            try
            {
                _values[name] = Handlers[node.Op](this, node);
            }
            // A node the handler cannot make sense of (inputs missing, a shape or attribute of the wrong kind): named,
            // as every conversion error is, instead of surfacing as a bare exception from deep inside (ModelFileFuzzTests).
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException or IndexOutOfRangeException
                                          or FormatException or ArithmeticException or NullReferenceException)
            {
                throw new TfjsModelException(_model.ModelJsonPath, $"node '{node.Name}' ({node.Op}) cannot be converted: {e.Message}", e);
            }
            if (node.Op == "Placeholder")
                inputs.Add(new TensorSignature(name, "float32", _values[name].Shape.Select(d => (long)d).ToArray()));
        }

        var outputs = new List<TensorSignature>();
        foreach (var name in outputNames)
        {
            var value = _values[name];
            if (value.Const is not null)
                throw Error($"output '{name}' is a constant; a model whose output does not depend on its input is not supported");
            if (value.Nchw) _graph.AddOutputNode("Transpose", [value.Name!], name, OnnxAttribute.Of("perm", ToNhwc));
            else _graph.AddOutputNode("Identity", [value.Name!], name);
            _graph.AddOutput(name, DataType.Float, Dims(value.Shape));
            outputs.Add(new TensorSignature(name, "float32", value.Shape.Select(d => (long)d).ToArray()));
        }

        var tfOps = order.Select(n => _nodes[n].Op).GroupBy(op => op).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        var proto = _graph.Build("FaceSwapCluster fsc tfjs-to-onnx", ConverterVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"Converted from TF.js graph model {Path.GetFileName(_model.ModelJsonPath)}",
            new Dictionary<string, string> { ["source"] = Path.GetFileName(_model.ModelJsonPath), ["layout"] = "NHWC" });
        return new ConvertedModel(proto, inputs, outputs, tfOps);
    }

    /// <summary>Bumped whenever the converter's output for the same input changes, so cached packs are rebuilt.</summary>
    public const int ConverterVersion = 1;

    private IReadOnlyList<string> OutputNames()
    {
        if (_model.SignatureOutputs.Count > 0)
        {
            foreach (var name in _model.SignatureOutputs)
                if (!_nodes.ContainsKey(name))
                    throw Error($"signature output '{name}' is no node of the graph");
            return _model.SignatureOutputs.Order(StringComparer.Ordinal).ToList();
        }
        // No signature: the outputs are the nodes nothing else reads.
        var consumed = _model.Nodes.SelectMany(n => n.Inputs).ToHashSet(StringComparer.Ordinal);
        var sinks = _model.Nodes.Where(n => n.Op is not ("Const" or "Placeholder" or "NoOp") && !consumed.Contains(n.Name)).Select(n => n.Name).Order(StringComparer.Ordinal).ToList();
        if (sinks.Count == 0) throw Error("the graph has no output node");
        return sinks;
    }

    private List<string> TopologicalOrder(IReadOnlyList<string> outputs)
    {
        var order = new List<string>();
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the stack, true: done
        var stack = new Stack<(string Name, int Next)>();
        foreach (var output in outputs)
        {
            if (state.ContainsKey(output)) continue;
            stack.Push((output, 0));
            state[output] = false;
            while (stack.Count > 0)
            {
                var (name, next) = stack.Pop();
                var node = _nodes[name];
                if (next < node.Inputs.Count)
                {
                    stack.Push((name, next + 1));
                    var input = node.Inputs[next];
                    if (!_nodes.ContainsKey(input))
                        throw Error($"node '{name}' reads '{input}', which is no node of the graph" + (input.Contains(':') ? " (only the first output of a node is supported)" : ""));
                    if (!state.TryGetValue(input, out var done)) { state[input] = false; stack.Push((input, 0)); }
                    else if (!done) throw Error($"the graph has a cycle through node '{input}'");
                    continue;
                }
                state[name] = true;
                order.Add(name);
            }
        }
        return order;
    }

    private TfjsModelException Error(string problem) => new(_model.ModelJsonPath, problem);
    private TfjsModelException Error(TfNode node, string problem) => new(_model.ModelJsonPath, $"node '{node.Name}' ({node.Op}): {problem}");

    private static OnnxDim[] Dims(int[] shape) => shape.Select(d => d < 0 ? OnnxDim.Named("batch") : new OnnxDim(d)).ToArray();

    // ---- values and layouts ----

    private Value Input(TfNode node, int index)
    {
        if (index >= node.Inputs.Count)
            throw Error(node, $"has {node.Inputs.Count} inputs, input {index} is required");
        return _values[node.Inputs[index]];
    }

    private TfTensor ConstInput(TfNode node, int index) =>
        Input(node, index).Const ?? throw Error(node, $"input {index} ('{node.Inputs[index]}') must be a constant");

    private int[] IntsInput(TfNode node, int index)
    {
        var tensor = ConstInput(node, index);
        return tensor.Ints ?? tensor.Floats!.Select(f => (int)f).ToArray();
    }

    private float[] FloatsInput(TfNode node, int index)
    {
        var tensor = ConstInput(node, index);
        return tensor.Floats ?? throw Error(node, $"input {index} ('{node.Inputs[index]}') must be a float32 constant");
    }

    /// <summary>The value as an ONNX tensor in the requested layout (4-D only; others are layout-free).</summary>
    private string As(Value value, bool nchw)
    {
        if (value.Const is { } constant)
        {
            var key = (constant.Name, nchw);
            if (_layoutCache.TryGetValue(key, out var cached)) return cached;
            var name = nchw && value.Rank == 4
                ? _graph.AddInitializer(constant.Name, Permute(constant.Floats!, constant.Shape, ToNchw), Permuted(constant.Shape, ToNchw))
                : constant.Floats is not null
                    ? _graph.AddInitializer(constant.Name, constant.Floats, constant.Shape.Select(d => (long)d).ToArray())
                    : _graph.AddInitializer(constant.Name, constant.Ints!.Select(i => (long)i).ToArray(), constant.Shape.Select(d => (long)d).ToArray());
            return _layoutCache[key] = name;
        }
        if (value.Rank != 4 || value.Nchw == nchw) return value.Name!;
        var layoutKey = (value.Name!, nchw);
        if (_layoutCache.TryGetValue(layoutKey, out var transposed)) return transposed;
        return _layoutCache[layoutKey] = _graph.AddNode("Transpose", [value.Name!], value.Name + (nchw ? "/nchw" : "/nhwc"), OnnxAttribute.Of("perm", nchw ? ToNchw : ToNhwc));
    }

    private string Nchw(Value value) => As(value, true);
    private string Nhwc(Value value) => As(value, false);

    /// <summary>A constant broadcast against a 4-D NCHW tensor: left-padded to rank 4 with ones, then permuted.</summary>
    private string BroadcastConst(TfNode node, TfTensor constant, bool nchw)
    {
        if (constant.Shape.Length > 4) throw Error(node, $"constant '{constant.Name}' has rank {constant.Shape.Length}, more than 4");
        if (!nchw || constant.Count == 1) return As(new Value(null, constant.Shape, false, constant), false);
        var padded = Enumerable.Repeat(1, 4 - constant.Shape.Length).Concat(constant.Shape).ToArray();
        var key = (constant.Name + "/bcast", true);
        if (_layoutCache.TryGetValue(key, out var cached)) return cached;
        var data = constant.Floats ?? throw Error(node, $"constant '{constant.Name}' must be float32");
        return _layoutCache[key] = _graph.AddInitializer(constant.Name, Permute(data, padded, ToNchw), Permuted(padded, ToNchw));
    }

    private static long[] Permuted(int[] shape, long[] perm) => perm.Select(p => (long)shape[p]).ToArray();

    /// <summary>Transposes row-major <paramref name="data"/> of <paramref name="shape"/>: output axis i is input axis perm[i].</summary>
    internal static float[] Permute(float[] data, int[] shape, long[] perm)
    {
        var rank = shape.Length;
        var outShape = perm.Select(p => shape[p]).ToArray();
        var inStrides = new int[rank];
        for (int i = rank - 1, s = 1; i >= 0; s *= shape[i], i--) inStrides[i] = s;
        var result = new float[data.Length];
        var index = new int[rank];
        for (var o = 0; o < result.Length; o++)
        {
            var src = 0;
            for (var i = 0; i < rank; i++) src += index[i] * inStrides[perm[i]];
            result[o] = data[src];
            for (var i = rank - 1; i >= 0 && ++index[i] == outShape[i]; i--) index[i] = 0;
        }
        return result;
    }

    private int[] Broadcast(TfNode node, IEnumerable<int[]> shapes)
    {
        var list = shapes.ToList();
        var rank = list.Max(s => s.Length);
        var result = Enumerable.Repeat(1, rank).ToArray();
        foreach (var shape in list)
            for (var i = 0; i < shape.Length; i++)
            {
                int r = rank - shape.Length + i, d = shape[i];
                if (d == 1 || d == result[r]) continue;
                if (result[r] == 1 || (result[r] == -1 && d > 1)) result[r] = d;
                else if (d != -1) throw Error(node, $"shapes [{string.Join(",", list.Select(s => string.Join("x", s)))}] do not broadcast");
            }
        return result;
    }
}
