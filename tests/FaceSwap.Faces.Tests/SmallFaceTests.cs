using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Faces.Tests;

/// <summary>
/// Faces about 20–27 px between the eyes in a 1920-px frame: sample5 shrunk to 30 % and laid four times over a
/// 1920×1280 canvas (the sample photos themselves have no faces that small).
/// </summary>
public sealed class SmallFaceTests(ITestOutputHelper output)
{
    private const float Shrink = 0.3f;

    [Fact]
    public void Tiled_pass_finds_the_small_faces_that_one_full_frame_pass_misses()
    {
        var sample5 = GroundTruthImage.Load().Single(t => Path.GetFileName(t.Path) == "sample5.jpg");
        using var photo = ImageFile.ReadBgr(sample5.Path);
        using var small = photo.Resize(new Size(0, 0), Shrink, Shrink, InterpolationFlags.Area);
        using var canvas = new Mat(1280, 1920, MatType.CV_8UC3, new Scalar(90, 90, 90));
        var truth = new List<Rect2f>();
        foreach (var origin in new[] { new Point(60, 80), new Point(1240, 60), new Point(300, 760), new Point(1100, 800) })
        {
            small.CopyTo(canvas[new Rect(origin, small.Size())]);
            truth.AddRange(sample5.Faces.Select(f => new Rect2f(origin.X + f.X * Shrink, origin.Y + f.Y * Shrink, f.Width * Shrink, f.Height * Shrink)));
        }

        var store = new ModelStore(TestPaths.ModelStore);
        DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        using var model = ModelSession.Open(store, Detector.ModelName, new InferenceOptions(), NullLogger.Instance);
        using var fullFrame = new Detector(model, new DetectorOptions());
        using var tiled = new Detector(model, DetectorOptions.Photos);
        var frame = BgrImage.Of(canvas);
        var (singleHits, singleFalse) = GroundTruthImage.Match(truth, [], fullFrame.Detect(frame).Select(f => f.Box));
        var (tiledHits, tiledFalse) = GroundTruthImage.Match(truth, [], tiled.Detect(frame).Select(f => f.Box));
        output.WriteLine($"{truth.Count} faces: full-frame pass finds {singleHits} ({singleFalse.Count} false), with {tiled.TileCount(1920, 1280)} tiles {tiledHits} ({tiledFalse.Count} false)");

        Assert.True(tiledHits >= 0.95 * truth.Count, $"tiled pass found {tiledHits} of {truth.Count}");
        Assert.True(tiledFalse.Count <= 1, $"tiled pass gave false boxes [{string.Join(", ", tiledFalse)}]");
        Assert.True(singleHits < tiledHits, "the full-frame pass alone should miss faces this small");
    }
}
