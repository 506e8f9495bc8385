using System.Collections.Concurrent;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Evaluation;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The enhance stage in the embedded default (seed, edge and worker in one node): a stream that asks for an
/// enhancer gets its swapped face restored in the same round trip. The model is generated with GFPGAN 1.4's
/// signature (every face "restored" to one flat colour), none of the real weights.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EnhanceStageTests(ClusterFixture fixture) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_stream_with_a_generated_GFPGAN_shaped_enhancer_gets_its_faces_restored_in_one_round_trip()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        var graph = new OnnxGraphBuilder("generated-gfpgan-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, 512, 512);
        var zero = graph.AddInitializer("zero", [0f, 0f, 0f], 1, 3, 1, 1);
        var colour = graph.AddInitializer("colour", [1f, -1f, 0f], 1, 3, 1, 1); // RGB → BGR (128, 0, 255) after post-processing
        graph.AddOutputNode("Add", [graph.AddNode("Mul", ["input", zero], "scaled"), colour], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        var file = Path.Combine(_dir.Path, "gfpgan.onnx");
        File.WriteAllBytes(file, graph.Build("test", "1", "generated").ToByteArray());
        var added = PresetChecker.Add(store, PresetChecker.Check(file, ModelPresets.Gfpgan14));

        await using var node = await fixture.Start([.. Roles.All], enhancers: store);
        await node.Placed(added.Name);
        using var still = StillFrames.Astronaut640x480();
        var outputs = new ConcurrentQueue<EmittedFrame>();
        var handle = EdgeStream.Run(node.System, Source.From(Enumerable.Range(0, 6).Select(_ => still.Clone()).ToList()),
            new EdgeStreamOptions
            {
                StreamId = "enhanced", Swap = new StreamSettings(ClusterFixture.Identity, Enhancer: added.Name, EnhanceBlend: 1),
                FramesPerSecond = 0.2, BudgetMs = 10_000, Parallelism = 1, BufferSize = 6,
            },
            node.Detect, node.Swap, Sink.ForEach<EmittedFrame>(outputs.Enqueue), marks: null);
        await handle.Completion.WaitAsync(TimeSpan.FromMinutes(1));
        var stats = handle.Ledger.Snapshot();

        Assert.Equal(6, stats.Served);
        Assert.Equal(6, stats.Latency[EdgeStages.WorkerEnhance].Count);
        Assert.False(stats.Latency.ContainsKey(EdgeStages.Detect) && stats.Latency[EdgeStages.Detect].Count > 2, "enhancement must not add round trips");
        // The face's centre carries the flat colour; a corner of the frame is untouched.
        foreach (var frame in outputs)
        {
            using (frame)
            {
                var centre = MaskCentre(still, frame.Image);
                var pixel = frame.Image.At<Vec3b>(centre.Y, centre.X);
                Assert.InRange(pixel.Item0, 118, 138);
                Assert.InRange(pixel.Item1, 0, 10);
                Assert.InRange(pixel.Item2, 245, 255);
                Assert.Equal(still.At<Vec3b>(5, 5), frame.Image.At<Vec3b>(5, 5));
            }
        }
    }

    /// <summary>The centre of the region that changed: the swapped, restored face.</summary>
    private static Point MaskCentre(Mat before, Mat after)
    {
        using var difference = new Mat();
        Cv2.Absdiff(before, after, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        Cv2.Threshold(grey, grey, 30, 255, ThresholdTypes.Binary);
        var box = Cv2.BoundingRect(grey);
        Assert.True(box.Width > 40, $"nothing changed ({box})");
        return new Point(box.X + box.Width / 2, box.Y + box.Height / 2);
    }
}
