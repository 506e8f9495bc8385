using FaceSwap.Inference.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Inference.Tests;

public sealed class OnnxGraphBuilderTests
{
    [Fact]
    public void Generated_model_conv_bias_relu_runs_in_onnx_runtime_with_hand_computed_values()
    {
        var graph = new OnnxGraphBuilder("generated-conv");
        graph.Reserve("y");
        graph.AddInput("x", DataType.Float, OnnxDim.Named("batch"), 1, 3, 3);
        var w = graph.AddInitializer("w", [1f, 1f, 1f, 1f], 1, 1, 2, 2);
        var b = graph.AddInitializer("b", [-10f], 1);
        var conv = graph.AddNode("Conv", ["x", w, b], "conv", OnnxAttribute.Of("kernel_shape", 2L, 2L));
        graph.AddOutputNode("Relu", [conv], "y");
        graph.AddOutput("y", DataType.Float, OnnxDim.Named("batch"), 1, 2, 2);
        var bytes = graph.Build("test", "1", "generated").ToByteArray();

        using var session = new InferenceSession(bytes);
        Assert.Equal(-1, session.InputMetadata["x"].Dimensions[0]); // symbolic batch
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 1, 3, 3]))]);
        // 2x2 window sums 12, 16, 24, 28, minus 10, then ReLU.
        Assert.Equal([2f, 6f, 14f, 18f], results.Single().AsTensor<float>().ToArray());
    }

    [Fact]
    public void Names_are_unique_and_reserved_output_names_are_kept_free()
    {
        var graph = new OnnxGraphBuilder("names");
        graph.Reserve("out");
        graph.AddInput("x", DataType.Float, 1);
        Assert.Equal("x_1", graph.AddNode("Relu", ["x"], "x"));
        Assert.Equal("out_1", graph.AddNode("Relu", ["x"], "out"));
        Assert.Equal("out", graph.AddOutputNode("Relu", ["x"], "out"));
        Assert.Throws<InvalidOperationException>(() => graph.AddOutputNode("Relu", ["x"], "out"));
    }

    [Fact]
    public void Output_that_no_node_produces_and_initializer_of_the_wrong_size_are_refused()
    {
        var graph = new OnnxGraphBuilder("bad");
        Assert.Throws<InvalidOperationException>(() => graph.AddOutput("nothing", DataType.Float, 1));
        var error = Assert.Throws<ArgumentException>(() => graph.AddInitializer("w", [1f, 2f, 3f], 2, 2));
        Assert.Contains("3 values", error.Message);
    }
}
