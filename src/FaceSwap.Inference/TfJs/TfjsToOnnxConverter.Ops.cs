using FaceSwap.Inference.Onnx;

namespace FaceSwap.Inference.TfJs;

// One handler per TensorFlow op: each turns a TF node into ONNX nodes and returns the value it produces.
public sealed partial class TfjsToOnnxConverter
{
    private static readonly Dictionary<string, Func<TfjsToOnnxConverter, TfNode, Value>> Handlers = new(StringComparer.Ordinal)
    {
        ["Placeholder"] = (c, n) => c.Placeholder(n),
        ["Const"] = (c, n) => c.Constant(n),
        ["Identity"] = (c, n) => c.Input(n, 0),
        ["Conv2D"] = (c, n) => c.Conv(n, depthwise: false),
        ["_FusedConv2D"] = (c, n) => c.Conv(n, depthwise: false),
        ["DepthwiseConv2dNative"] = (c, n) => c.Conv(n, depthwise: true),
        ["FusedDepthwiseConv2dNative"] = (c, n) => c.Conv(n, depthwise: true),
        ["Conv2DBackpropInput"] = (c, n) => c.ConvTranspose(n),
        ["MaxPool"] = (c, n) => c.Pool(n, "MaxPool"),
        ["AvgPool"] = (c, n) => c.Pool(n, "AveragePool"),
        ["Pad"] = (c, n) => c.Pad(n),
        ["PadV2"] = (c, n) => c.Pad(n),
        ["ResizeBilinear"] = (c, n) => c.ResizeBilinear(n),
        ["Add"] = (c, n) => c.Elementwise(n, "Add"),
        ["AddV2"] = (c, n) => c.Elementwise(n, "Add"),
        ["AddN"] = (c, n) => c.Elementwise(n, "Sum"),
        ["Sub"] = (c, n) => c.Elementwise(n, "Sub"),
        ["Mul"] = (c, n) => c.Elementwise(n, "Mul"),
        ["RealDiv"] = (c, n) => c.Elementwise(n, "Div"),
        ["Maximum"] = (c, n) => c.Elementwise(n, "Max"),
        ["Minimum"] = (c, n) => c.Elementwise(n, "Min"),
        ["Prelu"] = (c, n) => c.Elementwise(n, "PRelu"),
        ["Relu"] = (c, n) => c.Unary(n, "Relu"),
        ["Sigmoid"] = (c, n) => c.Unary(n, "Sigmoid"),
        ["Tanh"] = (c, n) => c.Unary(n, "Tanh"),
        ["Abs"] = (c, n) => c.Unary(n, "Abs"),
        ["Neg"] = (c, n) => c.Unary(n, "Neg"),
        ["Exp"] = (c, n) => c.Unary(n, "Exp"),
        ["Sqrt"] = (c, n) => c.Unary(n, "Sqrt"),
        ["Relu6"] = (c, n) => c.Relu6(n, c.Input(n, 0)),
        ["Square"] = (c, n) => c.Square(n),
        ["Rsqrt"] = (c, n) => c.Rsqrt(n),
        ["Reshape"] = (c, n) => c.Reshape(n),
        ["Squeeze"] = (c, n) => c.Squeeze(n),
        ["Sum"] = (c, n) => c.Reduce(n, "ReduceSum"),
        ["Mean"] = (c, n) => c.Reduce(n, "ReduceMean"),
        ["Max"] = (c, n) => c.Reduce(n, "ReduceMax"),
        ["ConcatV2"] = (c, n) => c.Concat(n),
        ["MatMul"] = (c, n) => c.MatMul(n),
        ["Softmax"] = (c, n) => c.Softmax(n),
    };

    private Value Placeholder(TfNode node)
    {
        var dtype = node.Attr("dtype")?.Type ?? "DT_FLOAT";
        if (dtype != "DT_FLOAT") throw Error(node, $"input dtype {dtype} is not supported, only DT_FLOAT");
        var shape = node.Ints("shape").Select(d => (int)d).ToArray();
        if (shape.Length != 4) throw Error(node, $"input of rank {shape.Length} is not supported, only NHWC images (rank 4)");
        if (shape.Skip(1).Any(d => d <= 0)) throw Error(node, $"input shape [{string.Join(",", shape)}] has an unknown height, width or channel count");
        if (_options.DynamicBatch && shape[0] is 1 or -1) shape[0] = -1;
        else if (shape[0] <= 0) throw Error(node, "input has an unknown batch size and DynamicBatch is off");
        return new Value(_graph.AddInput(node.Name, global::Onnx.TensorProto.Types.DataType.Float, Dims(shape)), shape, Nchw: false);
    }

    private Value Constant(TfNode node)
    {
        if (!_model.Weights.TryGetValue(node.Name, out var tensor))
            throw Error(node, "constant has no entry in the weightsManifest");
        return new Value(null, tensor.Shape, false, tensor);
    }

    private (int[] Strides, int[] Dilations) StridesAndDilations(TfNode node)
    {
        if (node.String("data_format", "NHWC") != "NHWC") throw Error(node, $"data_format {node.String("data_format")} is not supported, only NHWC");
        var strides = node.Ints("strides");
        var dilations = node.Ints("dilations");
        int[] s = strides.Length == 4 ? [(int)strides[1], (int)strides[2]] : [1, 1];
        int[] d = dilations.Length == 4 ? [(int)dilations[1], (int)dilations[2]] : [1, 1];
        return (s, d);
    }

    /// <summary>TF padding (SAME, VALID, EXPLICIT) as ONNX pads [top, left, bottom, right] and the output size.</summary>
    private (long[] Pads, int OutH, int OutW) Padding(TfNode node, int inH, int inW, int kH, int kW, int[] s, int[] d)
    {
        if (inH <= 0 || inW <= 0) throw Error(node, "height and width must be known to convert the padding");
        var padding = node.String("padding", "VALID");
        long[] pads = new long[4];
        int[] inSize = [inH, inW], k = [kH, kW], outSize = new int[2];
        var explicitPads = node.Ints("explicit_paddings");
        for (var i = 0; i < 2; i++)
        {
            var effective = (k[i] - 1) * d[i] + 1;
            switch (padding)
            {
                case "SAME": // TF puts the odd pixel at the end
                    outSize[i] = (inSize[i] + s[i] - 1) / s[i];
                    var total = Math.Max((outSize[i] - 1) * s[i] + effective - inSize[i], 0);
                    pads[i] = total / 2;
                    pads[i + 2] = total - total / 2;
                    break;
                case "VALID":
                    outSize[i] = (inSize[i] - effective) / s[i] + 1;
                    break;
                case "EXPLICIT":
                    if (explicitPads.Length != 8) throw Error(node, "EXPLICIT padding needs 8 explicit_paddings");
                    pads[i] = explicitPads[2 + 2 * i];
                    pads[i + 2] = explicitPads[3 + 2 * i];
                    outSize[i] = (int)((inSize[i] + pads[i] + pads[i + 2] - effective) / s[i] + 1);
                    break;
                default:
                    throw Error(node, $"padding '{padding}' is not supported");
            }
        }
        return (pads, outSize[0], outSize[1]);
    }

    private Value Conv(TfNode node, bool depthwise)
    {
        var x = Input(node, 0);
        if (x.Rank != 4) throw Error(node, $"input has rank {x.Rank}, expected 4 (NHWC)");
        var filter = ConstInput(node, 1);
        if (filter.Shape.Length != 4 || filter.Floats is null) throw Error(node, "filter must be a float32 constant of rank 4");
        int kH = filter.Shape[0], kW = filter.Shape[1], inC = filter.Shape[2], fourth = filter.Shape[3];
        if (inC != x.Shape[3]) throw Error(node, $"filter expects {inC} input channels, the input has {x.Shape[3]}");
        var (s, d) = StridesAndDilations(node);
        var (pads, outH, outW) = Padding(node, x.Shape[1], x.Shape[2], kH, kW, s, d);

        // TF filters are HWIO (depthwise: H, W, C, multiplier); ONNX wants OIHW with group = C for depthwise.
        var outC = depthwise ? inC * fourth : fourth;
        var weights = depthwise
            ? Permute(filter.Floats, filter.Shape, [2, 3, 0, 1])
            : Permute(filter.Floats, filter.Shape, [3, 2, 0, 1]);
        long[] weightShape = depthwise ? [outC, 1, kH, kW] : [outC, inC, kH, kW];
        var inputs = new List<string> { Nchw(x), _graph.AddInitializer(filter.Name, weights, weightShape) };

        var fused = node.Strings("fused_ops");
        var activation = fused.Length > 0 && fused[0] == "BiasAdd" ? fused.Skip(1).ToArray()
            : fused.Length == 0 ? [] : throw Error(node, $"fused ops [{string.Join(", ", fused)}] are not supported (the first fused op must be BiasAdd)");
        if (fused.Length > 0)
        {
            var bias = ConstInput(node, 2);
            if (bias.Count != outC || bias.Floats is null) throw Error(node, $"bias has {bias.Count} values, the convolution has {outC} output channels");
            inputs.Add(_graph.AddInitializer(bias.Name, bias.Floats, outC));
        }
        if (activation.Length > 1) throw Error(node, $"fused ops [{string.Join(", ", fused)}] chain more than one activation");

        var y = _graph.AddNode("Conv", inputs, node.Name,
            OnnxAttribute.Of("kernel_shape", kH, kW), OnnxAttribute.Of("strides", s[0], s[1]),
            OnnxAttribute.Of("dilations", d[0], d[1]), OnnxAttribute.Of("pads", pads),
            OnnxAttribute.Of("group", depthwise ? inC : 1L));
        var value = new Value(y, [x.Shape[0], outH, outW, outC], Nchw: true);
        return activation.Length == 0 ? value : FusedActivation(node, activation[0], value);
    }

    private Value FusedActivation(TfNode node, string activation, Value x) => activation switch
    {
        "Relu" => new Value(_graph.AddNode("Relu", [Nchw(x)], node.Name + "/relu"), x.Shape, true),
        "Relu6" => Relu6(node, x),
        "Sigmoid" => new Value(_graph.AddNode("Sigmoid", [Nchw(x)], node.Name + "/sigmoid"), x.Shape, true),
        "Elu" => new Value(_graph.AddNode("Elu", [Nchw(x)], node.Name + "/elu"), x.Shape, true),
        "LeakyRelu" => new Value(_graph.AddNode("LeakyRelu", [Nchw(x)], node.Name + "/leakyrelu", OnnxAttribute.Of("alpha", node.Float("leakyrelu_alpha", 0.2f))), x.Shape, true),
        "Prelu" => new Value(_graph.AddNode("PRelu", [Nchw(x), BroadcastConst(node, ConstInput(node, 3), nchw: true)], node.Name + "/prelu"), x.Shape, true),
        _ => throw Error(node, $"fused activation '{activation}' is not supported"),
    };

    private Value Relu6(TfNode node, Value x)
    {
        var min = _graph.AddInitializer("relu6/min", [0f]);
        var max = _graph.AddInitializer("relu6/max", [6f]);
        return new Value(_graph.AddNode("Clip", [As(x, x.Nchw), min, max], node.Name + "/relu6"), x.Shape, x.Nchw);
    }

    /// <summary>Conv2DBackpropInput (transposed convolution): the output size is given, so pads and output_padding are exact.</summary>
    private Value ConvTranspose(TfNode node)
    {
        var outputSize = IntsInput(node, 0);
        var filter = ConstInput(node, 1);
        var x = Input(node, 2);
        if (filter.Shape.Length != 4 || filter.Floats is null || x.Rank != 4) throw Error(node, "needs a rank-4 float32 filter and a rank-4 input");
        int kH = filter.Shape[0], kW = filter.Shape[1], outC = filter.Shape[2], inC = filter.Shape[3];
        if (inC != x.Shape[3]) throw Error(node, $"filter expects {inC} input channels, the input has {x.Shape[3]}");
        var (s, d) = StridesAndDilations(node);
        int[] inSize = [x.Shape[1], x.Shape[2]], outSize = [outputSize[1], outputSize[2]], k = [kH, kW];
        // Pads are those of the forward convolution that maps the output size back to the input size.
        var (pads, fwdH, fwdW) = Padding(node, outSize[0], outSize[1], kH, kW, s, d);
        if (fwdH != inSize[0] || fwdW != inSize[1])
            throw Error(node, $"output size {outSize[0]}x{outSize[1]} does not map back to the input size {inSize[0]}x{inSize[1]}");
        var outputPadding = new long[2];
        for (var i = 0; i < 2; i++)
            outputPadding[i] = outSize[i] - ((long)s[i] * (inSize[i] - 1) + (k[i] - 1) * d[i] + 1 - pads[i] - pads[i + 2]);
        // TF filter (H, W, out, in) -> ONNX ConvTranspose weight (in, out, H, W).
        var weights = _graph.AddInitializer(filter.Name, Permute(filter.Floats, filter.Shape, [3, 2, 0, 1]), inC, outC, kH, kW);
        var y = _graph.AddNode("ConvTranspose", [Nchw(x), weights], node.Name,
            OnnxAttribute.Of("kernel_shape", kH, kW), OnnxAttribute.Of("strides", s[0], s[1]), OnnxAttribute.Of("dilations", d[0], d[1]),
            OnnxAttribute.Of("pads", pads), OnnxAttribute.Of("output_padding", outputPadding));
        return new Value(y, [x.Shape[0], outSize[0], outSize[1], outC], Nchw: true);
    }

    private Value Pool(TfNode node, string onnxOp)
    {
        var x = Input(node, 0);
        if (x.Rank != 4) throw Error(node, $"input has rank {x.Rank}, expected 4 (NHWC)");
        var ksize = node.Ints("ksize");
        if (ksize.Length != 4 || ksize[0] != 1 || ksize[3] != 1) throw Error(node, $"ksize [{string.Join(",", ksize)}] is not supported: pooling must be spatial");
        var (s, d) = StridesAndDilations(node);
        var (pads, outH, outW) = Padding(node, x.Shape[1], x.Shape[2], (int)ksize[1], (int)ksize[2], s, d);
        var attributes = new List<OnnxAttribute>
        {
            OnnxAttribute.Of("kernel_shape", ksize[1], ksize[2]), OnnxAttribute.Of("strides", s[0], s[1]), OnnxAttribute.Of("pads", pads),
        };
        if (onnxOp == "AveragePool") attributes.Add(OnnxAttribute.Of("count_include_pad", 0L)); // TF averages over real pixels only
        var y = _graph.AddNode(onnxOp, [Nchw(x)], node.Name, attributes.ToArray());
        return new Value(y, [x.Shape[0], outH, outW, x.Shape[3]], Nchw: true);
    }

    private Value Pad(TfNode node)
    {
        var x = Input(node, 0);
        var paddings = IntsInput(node, 1);
        if (paddings.Length != 2 * x.Rank) throw Error(node, $"paddings hold {paddings.Length} values, a rank-{x.Rank} input needs {2 * x.Rank}");
        var nchw = x.Rank == 4 && x.Nchw;
        var axes = nchw ? ToNchw : Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        var pads = axes.Select(a => (long)paddings[2 * a]).Concat(axes.Select(a => (long)paddings[2 * a + 1])).ToArray();
        var inputs = new List<string> { As(x, nchw), _graph.AddInitializer(node.Name + "/pads", pads, pads.Length) };
        if (node.Op == "PadV2") inputs.Add(_graph.AddInitializer(node.Name + "/value", [FloatsInput(node, 2)[0]]));
        var shape = x.Shape.Select((dim, i) => dim < 0 ? dim : dim + paddings[2 * i] + paddings[2 * i + 1]).ToArray();
        return new Value(_graph.AddNode("Pad", inputs, node.Name, OnnxAttribute.Of("mode", "constant")), shape, nchw);
    }

    private Value ResizeBilinear(TfNode node)
    {
        var x = Input(node, 0);
        var size = IntsInput(node, 1);
        if (x.Rank != 4 || size.Length != 2) throw Error(node, "needs a rank-4 input and a size of 2 values");
        if (x.Shape[1] <= 0 || x.Shape[2] <= 0) throw Error(node, "input height and width must be known");
        var mode = node.Bool("align_corners") ? "align_corners" : node.Bool("half_pixel_centers") ? "half_pixel" : "asymmetric";
        float[] scales = [1f, 1f, (float)size[0] / x.Shape[1], (float)size[1] / x.Shape[2]];
        var y = _graph.AddNode("Resize", [Nchw(x), "", _graph.AddInitializer(node.Name + "/scales", scales, 4)], node.Name,
            OnnxAttribute.Of("mode", "linear"), OnnxAttribute.Of("coordinate_transformation_mode", mode));
        return new Value(y, [x.Shape[0], size[0], size[1], x.Shape[3]], Nchw: true);
    }

    /// <summary>Broadcasting ops: 4-D operands stay NCHW when one already is; constants are reshaped to match.</summary>
    private Value Elementwise(TfNode node, string onnxOp)
    {
        var operands = node.Inputs.Select(name => _values[name]).ToList();
        var variables = operands.Where(v => v.Const is null).ToList();
        var nchw = variables.Any(v => v.Nchw) && variables.All(v => v.Rank == 4);
        var inputs = operands.Select(v => v.Const is { } c ? BroadcastConst(node, c, nchw) : As(v, nchw)).ToList();
        var shape = Broadcast(node, operands.Select(v => v.Shape));
        return new Value(_graph.AddNode(onnxOp, inputs, node.Name), shape, nchw && shape.Length == 4);
    }

    private Value Unary(TfNode node, string onnxOp)
    {
        var x = Input(node, 0);
        return new Value(_graph.AddNode(onnxOp, [As(x, x.Nchw)], node.Name), x.Shape, x.Nchw);
    }

    private Value Square(TfNode node)
    {
        var x = Input(node, 0);
        var name = As(x, x.Nchw);
        return new Value(_graph.AddNode("Mul", [name, name], node.Name), x.Shape, x.Nchw);
    }

    private Value Rsqrt(TfNode node)
    {
        var x = Input(node, 0);
        var root = _graph.AddNode("Sqrt", [As(x, x.Nchw)], node.Name + "/sqrt");
        return new Value(_graph.AddNode("Reciprocal", [root], node.Name), x.Shape, x.Nchw);
    }

    /// <summary>Reshape in TF's element order; a leading 1 or -1 becomes 0 (copy the batch) so the model keeps a dynamic batch.</summary>
    private Value Reshape(TfNode node)
    {
        var x = Input(node, 0);
        var target = IntsInput(node, 1).Select(v => (long)v).ToArray();
        var shape = target.Select(v => (int)v).ToArray();
        var known = x.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        if (x.Rank > 0 && x.Shape[0] < 0 && target.Length > 0 && target[0] is 1 or -1)
        {
            var rest = target.Skip(1).ToArray();
            if (rest.Contains(-1) || rest.Aggregate(1L, (a, b) => a * b) == known)
            {
                target[0] = 0;
                shape[0] = -1;
            }
        }
        var unknown = Array.IndexOf(shape, -1, shape.Length > 0 && shape[0] == -1 && x.Shape[0] < 0 ? 1 : 0);
        if (unknown >= 0)
        {
            var product = shape.Where((v, i) => i != unknown && !(i == 0 && v == -1)).Aggregate(1L, (a, b) => a * b);
            var total = x.Shape.All(v => v > 0) ? x.Shape.Aggregate(1L, (a, b) => a * b) : known;
            shape[unknown] = (int)(total / product);
        }
        var y = _graph.AddNode("Reshape", [Nhwc(x), _graph.AddInitializer(node.Name + "/shape", target, target.Length)], node.Name);
        return new Value(y, shape, Nchw: false);
    }

    private Value Squeeze(TfNode node)
    {
        var x = Input(node, 0);
        var axes = node.Ints("squeeze_dims").Select(a => a < 0 ? a + x.Rank : a).ToArray();
        if (axes.Length == 0) axes = x.Shape.Select((d, i) => (d, i)).Where(t => t.d == 1).Select(t => (long)t.i).ToArray();
        foreach (var axis in axes)
            if (axis < 0 || axis >= x.Rank || x.Shape[axis] != 1) throw Error(node, $"cannot squeeze axis {axis} of shape [{string.Join(",", x.Shape)}]");
        var y = _graph.AddNode("Squeeze", [Nhwc(x), _graph.AddInitializer(node.Name + "/axes", axes, axes.Length)], node.Name);
        return new Value(y, x.Shape.Where((_, i) => !axes.Contains(i)).ToArray(), Nchw: false);
    }

    private Value Reduce(TfNode node, string onnxOp)
    {
        var x = Input(node, 0);
        var axes = IntsInput(node, 1).Select(a => (long)(a < 0 ? a + x.Rank : a)).ToArray();
        var keep = node.Bool("keep_dims");
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Of("keepdims", keep ? 1L : 0L) };
        var inputs = new List<string> { Nhwc(x) };
        // Opset 17 takes ReduceSum's axes as an input, the other reductions' axes as an attribute.
        if (onnxOp == "ReduceSum") inputs.Add(_graph.AddInitializer(node.Name + "/axes", axes, axes.Length));
        else attributes.Add(OnnxAttribute.Of("axes", axes));
        var shape = keep ? x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray() : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
        return new Value(_graph.AddNode(onnxOp, inputs, node.Name, attributes.ToArray()), shape, Nchw: false);
    }

    private Value Concat(TfNode node)
    {
        var operands = node.Inputs.Take(node.Inputs.Count - 1).Select(name => _values[name]).ToList();
        var rank = operands[0].Rank;
        var axis = IntsInput(node, node.Inputs.Count - 1)[0];
        if (axis < 0) axis += rank;
        var nchw = rank == 4 && operands.Any(v => v.Nchw);
        var onnxAxis = nchw ? Array.IndexOf(ToNchw, (long)axis) : axis;
        var inputs = operands.Select(v => As(v, nchw)).ToList();
        var shape = (int[])operands[0].Shape.Clone();
        shape[axis] = operands.Sum(v => v.Shape[axis]);
        return new Value(_graph.AddNode("Concat", inputs, node.Name, OnnxAttribute.Of("axis", (long)onnxAxis)), shape, nchw);
    }

    /// <summary>2-D matrix product; TF's transpose flags are not supported.</summary>
    private Value MatMul(TfNode node)
    {
        if (node.Bool("transpose_a") || node.Bool("transpose_b")) throw Error(node, "transposed MatMul operands are not supported");
        var a = Input(node, 0);
        var b = Input(node, 1);
        if (a.Rank != 2 || b.Rank != 2) throw Error(node, $"only 2-D MatMul is supported, got ranks {a.Rank} and {b.Rank}");
        if (a.Shape[1] != b.Shape[0]) throw Error(node, $"inner sizes {a.Shape[1]} and {b.Shape[0]} differ");
        var y = _graph.AddNode("MatMul", [As(a, false), As(b, false)], node.Name);
        return new Value(y, [a.Shape[0], b.Shape[1]], Nchw: false);
    }

    private Value Softmax(TfNode node)
    {
        var x = Input(node, 0);
        return new Value(_graph.AddNode("Softmax", [Nhwc(x)], node.Name, OnnxAttribute.Of("axis", -1L)), x.Shape, Nchw: false);
    }
}
