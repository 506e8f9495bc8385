using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Faces.Tests;

/// <summary>SCRFD decoding on hand-built output tensors: every expected number is worked out here, from the anchor grid.</summary>
public sealed class ScrfdDecoderTests
{
    private static float[][] EmptyOutputs() =>
    [
        .. ScrfdDecoder.Strides.Select(s => new float[ScrfdDecoder.AnchorCount(s)]),
        .. ScrfdDecoder.Strides.Select(s => new float[4 * ScrfdDecoder.AnchorCount(s)]),
        .. ScrfdDecoder.Strides.Select(s => new float[10 * ScrfdDecoder.AnchorCount(s)]),
    ];

    /// <summary>Puts a prediction on anchor <paramref name="anchor"/> of cell (row, column) of stride index <paramref name="s"/>.</summary>
    private static void Put(float[][] outputs, int s, int row, int column, int anchor, float score, float[] distances, float keypointOffset)
    {
        var stride = ScrfdDecoder.Strides[s];
        var i = (row * (640 / stride) + column) * 2 + anchor;
        outputs[s][i] = score;
        distances.CopyTo(outputs[s + 3], 4 * i);
        for (var k = 0; k < 10; k++) outputs[s + 6][10 * i + k] = keypointOffset + k * 0.1f;
    }

    [Theory]
    [InlineData(1280, 720, 640, 360, 0.5f)]
    [InlineData(720, 1280, 360, 640, 0.5f)]
    [InlineData(640, 640, 640, 640, 1f)]
    [InlineData(320, 240, 640, 480, 2f)]
    public void Letterbox_fills_the_longer_side_and_keeps_the_aspect(int width, int height, int boxWidth, int boxHeight, float scale)
    {
        var letterbox = ScrfdLetterbox.For(width, height);
        Assert.Equal((boxWidth, boxHeight, scale), (letterbox.Width, letterbox.Height, letterbox.Scale));
    }

    [Fact]
    public void Hand_built_outputs_decode_to_the_expected_boxes_and_points_with_overlaps_suppressed()
    {
        var outputs = EmptyOutputs();
        // Stride 16, cell (row 10, column 12), second anchor: corner (192, 160) in the input.
        Put(outputs, 1, 10, 12, 1, 0.9f, [2, 3, 4, 5], -1);
        // A weaker stride-8 prediction of nearly the same box: suppressed. Corner (192, 160) again.
        Put(outputs, 0, 20, 24, 0, 0.7f, [4, 6, 8, 10], 0);
        // Below the threshold: ignored.
        Put(outputs, 2, 3, 3, 0, 0.49f, [1, 1, 1, 1], 0);
        // Another face, stride 32, cell (row 2, column 15), first anchor: corner (480, 64).
        Put(outputs, 2, 2, 15, 0, 0.6f, [1, 1, 2, 2], 0.5f);

        var faces = ScrfdDecoder.Decode(outputs, ScrfdLetterbox.For(1280, 720));

        Assert.Equal(2, faces.Count);
        // Input box (192 − 32, 160 − 48)–(192 + 64, 160 + 80) = (160, 112)–(256, 240); frame = input / 0.5.
        Assert.Equal(0.9f, faces[0].Score);
        AssertBox(new Rect2f(320, 224, 192, 256), faces[0].Box);
        // First keypoint: (192 + (−1)·16, 160 + (−0.9)·16) / 0.5.
        Assert.Equal(2 * (192 - 16f), faces[0].Points[0].X, 3);
        Assert.Equal(2 * (160 - 0.9f * 16), faces[0].Points[0].Y, 3);
        // Fifth keypoint offsets: −1 + 0.8 and −1 + 0.9.
        Assert.Equal(2 * (192 + (-1 + 0.8f) * 16), faces[0].Points[4].X, 3);
        // Second face: (480 − 32, 64 − 32)–(480 + 64, 64 + 64) → frame (896, 64) 192×192.
        Assert.Equal(0.6f, faces[1].Score);
        AssertBox(new Rect2f(896, 64, 192, 192), faces[1].Box);
    }

    [Fact]
    public void Outputs_of_the_wrong_size_are_refused_with_the_stride_named()
    {
        var outputs = EmptyOutputs();
        outputs[4] = new float[7];
        var error = Assert.Throws<ArgumentException>(() => ScrfdDecoder.Decode(outputs, ScrfdLetterbox.For(640, 480)));
        Assert.Contains("stride 16", error.Message);
        Assert.Throws<ArgumentException>(() => ScrfdDecoder.Decode(outputs[..6], ScrfdLetterbox.For(640, 480)));
    }

    [Fact]
    public void Preprocess_puts_the_resized_frame_top_left_in_rgb_and_pads_with_black()
    {
        using var frame = new Mat(360, 1280, MatType.CV_8UC3, new Scalar(10, 20, 30)); // B, G, R
        var input = new float[3 * 640 * 640];
        var letterbox = ScrfdDetector.Preprocess(frame, input);
        Assert.Equal((640, 180, 0.5f), (letterbox.Width, letterbox.Height, letterbox.Scale));
        const int plane = 640 * 640;
        var inside = 100 * 640 + 300;  // row 100 < 180: the frame
        var below = 500 * 640 + 300;   // row 500: padding
        Assert.Equal((30 - 127.5f) / 128f, input[inside], 5);            // R plane first
        Assert.Equal((20 - 127.5f) / 128f, input[plane + inside], 5);
        Assert.Equal((10 - 127.5f) / 128f, input[2 * plane + inside], 5);
        Assert.Equal(-127.5f / 128f, input[below], 5);
    }

    [Fact]
    public void A_generated_model_with_scrfds_signature_runs_end_to_end_through_the_store()
    {
        // Nine constant outputs (the hand-built tensors of the test above), in the order SCRFD lists them.
        var outputs = EmptyOutputs();
        Put(outputs, 1, 10, 12, 1, 0.9f, [2, 3, 4, 5], -1);
        var graph = new OnnxGraphBuilder("generated-scrfd-shaped");
        graph.AddInput("input.1", DataType.Float, 1, 3, 640, 640);
        long[] widths = [1, 1, 1, 4, 4, 4, 10, 10, 10];
        for (var o = 0; o < 9; o++)
        {
            var rows = outputs[o].Length / widths[o];
            var constant = graph.AddInitializer($"c{o}", outputs[o], rows, widths[o]);
            graph.AddOutputNode("Identity", [constant], $"out{o}");
            graph.AddOutput($"out{o}", DataType.Float, rows, widths[o]);
        }
        using var dir = new TestPaths.TempDir();
        var path = Path.Combine(dir.Path, "scrfd-shaped.onnx");
        File.WriteAllBytes(path, graph.Build("test", "1", "generated").ToByteArray());
        var store = new ModelStore(Path.Combine(dir.Path, "store"));
        var check = PresetChecker.Check(path, ModelPresets.Scrfd10g);
        Assert.True(check.Fits, string.Join("; ", check.Differences));
        using var model = ModelSession.Open(store, PresetChecker.Add(store, check).Name, new InferenceOptions(), NullLogger.Instance);

        using var frame = new Mat(720, 1280, MatType.CV_8UC3, Scalar.All(90));
        var faces = new ScrfdDetector(model).Detect(frame);
        AssertBox(new Rect2f(320, 224, 192, 256), Assert.Single(faces).Box);
    }

    private static void AssertBox(Rect2f expected, Rect2f actual)
    {
        Assert.Equal(expected.X, actual.X, 3);
        Assert.Equal(expected.Y, actual.Y, 3);
        Assert.Equal(expected.Width, actual.Width, 3);
        Assert.Equal(expected.Height, actual.Height, 3);
    }
}
