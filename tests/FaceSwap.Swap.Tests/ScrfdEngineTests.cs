using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Swap.Tests;

/// <summary>
/// SCRFD as the stream engine's detector: a generated model with SCRFD's signature whose constant outputs encode the
/// astronaut's face as BlazeFace finds it (no SCRFD weights); FaceMesh then fits and the swap runs.
/// </summary>
public sealed class ScrfdEngineTests(AnalyzerOnlyFixture fixture) : IClassFixture<AnalyzerOnlyFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_generated_scrfd_seeds_the_landmarker_and_the_engine_swaps_the_face()
    {
        using var still = StillFrames.Astronaut640x480();
        var face = fixture.Analyzer.Analyze(BgrImage.Of(still)).Single();
        using var source = SwapEvaluation.SourceFrom(still, face);

        // 640×480 letterboxes at scale 1. Encode the box and the five points on the stride-8 anchor of the box's centre.
        const int stride = 8;
        var box = face.Detection.Box;
        int row = (int)((box.Y + box.Height / 2) / stride), column = (int)((box.X + box.Width / 2) / stride);
        float cx = column * stride, cy = row * stride;
        var outputs = ScrfdDecoder.Strides.SelectMany(s => new[] { 1, 4, 10 }.Select(width => (Stride: s, Width: width)))
            .OrderBy(o => o.Width).ThenBy(o => o.Stride) // scores, boxes, keypoints; strides 8, 16, 32 in each
            .Select(o => new float[ScrfdDecoder.AnchorCount(o.Stride) * o.Width]).ToArray();
        var anchor = (row * (640 / stride) + column) * 2;
        outputs[0][anchor] = 0.95f;
        float[] distances = [(cx - box.X) / stride, (cy - box.Y) / stride, (box.Right - cx) / stride, (box.Bottom - cy) / stride];
        distances.CopyTo(outputs[3], 4 * anchor);
        for (var k = 0; k < 5; k++)
        {
            outputs[6][10 * anchor + 2 * k] = (face.FivePoints[k].X - cx) / stride;
            outputs[6][10 * anchor + 2 * k + 1] = (face.FivePoints[k].Y - cy) / stride;
        }

        var graph = new OnnxGraphBuilder("generated-scrfd-shaped");
        graph.AddInput("input.1", DataType.Float, 1, 3, 640, 640);
        for (var o = 0; o < 9; o++)
        {
            long width = o < 3 ? 1 : o < 6 ? 4 : 10;
            var constant = graph.AddInitializer($"c{o}", outputs[o], outputs[o].Length / width, width);
            graph.AddOutputNode("Identity", [constant], $"out{o}");
            graph.AddOutput($"out{o}", DataType.Float, outputs[o].Length / width, width);
        }
        var path = Path.Combine(_dir.Path, "scrfd.onnx");
        File.WriteAllBytes(path, graph.Build("fsc-tests", "1", "generated model: SCRFD signature, constant outputs").ToByteArray());
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        using var model = ModelSession.Open(store, PresetChecker.Add(store, PresetChecker.Check(path, ModelPresets.Scrfd10g)).Name, new InferenceOptions(), NullLogger.Instance);

        var engine = new StreamSwapEngine(fixture.Analyzer, source, detector: new ScrfdDetector(model));
        using var frame = still.Clone();
        var result = engine.Process(frame);
        Assert.Equal((true, 1, 1), (result.Detected, result.Faces, result.Swapped));
        // The landmarks FaceMesh fitted from SCRFD's seed are the face's.
        var nose = engine.Tracks[0].Landmarks.Mesh[1];
        Assert.InRange(Math.Abs(nose.X - face.Landmarks.Mesh[1].X) + Math.Abs(nose.Y - face.Landmarks.Mesh[1].Y), 0, 6);
    }
}
