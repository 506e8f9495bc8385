using System.Text.Json.Nodes;
using FaceSwap.Inference.TfJs;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static FaceSwap.Inference.Tests.TfjsModelWriter;

namespace FaceSwap.Inference.Tests;

/// <summary>
/// Ops of the converter that the default pack does not use, each in a generated TF.js model against values
/// computed by hand. Most follow a 1×1 convolution, so they meet a tensor that ONNX holds as NCHW.
/// </summary>
public sealed class TfjsConverterOpTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // x: 1×2×2×2 NHWC, pixels (1,-1) (2,-2) (3,-3) (4,-4).
    private static readonly float[] X = [1, -1, 2, -2, 3, -3, 4, -4];

    /// <summary>Placeholder x [1,2,2,2] followed by a 1×1 convolution that doubles channel 0 and triples channel 1.</summary>
    private static (TfjsModelWriter Model, string Conv) WithConv()
    {
        var model = new TfjsModelWriter();
        model.Placeholder("x", 1, 2, 2, 2);
        model.Const("w", [2, 0, 0, 3], 1, 1, 2, 2); // HWIO
        var conv = model.Op("conv", "Conv2D", ["x", "w"], Spatial("VALID"));
        return (model, conv);
    }

    private float[] Run(TfjsModelWriter model, string output, out int[] shape)
    {
        model.Op(output + "_out", "Identity", [output]);
        var converted = TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(model.Write(_dir.Path)));
        using var session = new InferenceSession(converted.Model.ToByteArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(X, [1, 2, 2, 2]))]);
        var tensor = results.Single().AsTensor<float>();
        shape = tensor.Dimensions.ToArray();
        Assert.Equal(converted.Outputs.Single().Shape.Skip(1).Select(d => (int)d), shape.Skip(1));
        return tensor.ToArray();
    }

    [Fact]
    public void Generated_model_concat_on_channels_of_an_nchw_and_an_nhwc_tensor()
    {
        var (model, conv) = WithConv();
        model.ConstInt("axis", [3]);
        var concat = model.Op("concat", "ConcatV2", [conv, "x", "axis"], new JsonObject { ["N"] = new JsonObject { ["i"] = "2" } });
        var y = Run(model, concat, out var shape);
        Assert.Equal([1, 2, 2, 4], shape);
        Assert.Equal([2, -3, 1, -1, 4, -6, 2, -2, 6, -9, 3, -3, 8, -12, 4, -4], y);
    }

    [Fact]
    public void Generated_model_mean_and_max_over_height_and_width()
    {
        var (model, conv) = WithConv();
        model.ConstInt("axes", [1, 2], 2);
        var mean = model.Op("mean", "Mean", [conv, "axes"], new JsonObject { ["keep_dims"] = B(false) });
        Assert.Equal([5f, -7.5f], Run(model, mean, out var shape));
        Assert.Equal([1, 2], shape);

        var (model2, conv2) = WithConv();
        model2.ConstInt("axes", [1, 2], 2);
        var max = model2.Op("max", "Max", [conv2, "axes"], new JsonObject { ["keep_dims"] = B(true) });
        Assert.Equal([8f, -3f], Run(model2, max, out var maxShape));
        Assert.Equal([1, 1, 1, 2], maxShape);
    }

    [Fact]
    public void Generated_model_softmax_over_channels()
    {
        var (model, conv) = WithConv();
        var softmax = model.Op("softmax", "Softmax", [conv]);
        var y = Run(model, softmax, out _);
        // pixel 0: softmax(2, -3)
        Assert.Equal(1 / (1 + MathF.Exp(-5)), y[0], 5);
        Assert.Equal(1f, y[0] + y[1], 5);
    }

    [Fact]
    public void Generated_model_padv2_pads_height_with_the_given_value()
    {
        var (model, conv) = WithConv();
        model.ConstInt("paddings", [0, 0, 1, 0, 0, 0, 0, 0], 4, 2);
        model.Const("value", [7f]);
        var pad = model.Op("pad", "PadV2", [conv, "paddings", "value"]);
        var y = Run(model, pad, out var shape);
        Assert.Equal([1, 3, 2, 2], shape);
        Assert.Equal([7, 7, 7, 7, 2, -3, 4, -6, 6, -9, 8, -12], y);
    }

    [Theory]
    [InlineData("Relu6", new float[] { 2, 0, 4, 0, 6, 0, 6, 0 })]
    [InlineData("LeakyRelu", new float[] { 2, -0.6f, 4, -1.2f, 6, -1.8f, 8, -2.4f })]
    [InlineData("Elu", new float[] { 2, -0.95021296f, 4, -0.99752125f, 6, -0.99987659f, 8, -0.99999386f })]
    [InlineData("Sigmoid", new float[] { 0.880797f, 0.047425874f, 0.98201376f, 0.0024726232f, 0.99752736f, 0.00012339458f, 0.99966466f, 6.1441742e-06f })]
    public void Generated_model_fused_convolution_with_bias_and_activation(string activation, float[] expected)
    {
        var model = new TfjsModelWriter();
        model.Placeholder("x", 1, 2, 2, 2);
        model.Const("w", [2, 0, 0, 3], 1, 1, 2, 2);
        model.Const("b", [0, 0], 2);
        var attr = Spatial("SAME");
        attr["fused_ops"] = Strings("BiasAdd", activation);
        attr["num_args"] = new JsonObject { ["i"] = "1" };
        attr["leakyrelu_alpha"] = F(0.2f);
        var conv = model.Op("conv", "_FusedConv2D", ["x", "w", "b"], attr);
        var y = Run(model, conv, out _);
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], y[i], 5);
    }

    [Fact]
    public void Generated_model_depthwise_convolution_with_stride_two_and_same_padding()
    {
        // TF SAME with stride 2 on 2×2 puts no padding before and one pixel after: output 1×1 holds the top-left 3×3 window.
        var model = new TfjsModelWriter();
        model.Placeholder("x", 1, 2, 2, 2);
        model.Const("w", Enumerable.Repeat(1f, 3 * 3 * 2).ToArray(), 3, 3, 2, 1);
        var conv = model.Op("dw", "DepthwiseConv2dNative", ["x", "w"], Spatial("SAME", stride: 2));
        var y = Run(model, conv, out var shape);
        Assert.Equal([1, 1, 1, 2], shape);
        Assert.Equal([10f, -10f], y);
    }
}
