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
        var (singleHits, singleFalse) = Count(truth, fullFrame.Detect(frame));
        var (tiledHits, tiledFalse) = Count(truth, tiled.Detect(frame));
        output.WriteLine($"{truth.Count} faces: full-frame pass finds {singleHits} ({singleFalse} false), with {tiled.TileCount(1920, 1280)} tiles {tiledHits} ({tiledFalse} false)");

        Assert.True(tiledHits >= 0.95 * truth.Count, $"tiled pass found {tiledHits} of {truth.Count}");
        Assert.True(tiledFalse <= 1, $"tiled pass gave {tiledFalse} false boxes");
        Assert.True(singleHits < tiledHits, "the full-frame pass alone should miss faces this small");
    }

    private static (int Hits, int False) Count(List<Rect2f> truth, List<FaceDetection> found)
    {
        var free = truth.ToList();
        var falseBoxes = 0;
        foreach (var face in found)
        {
            var best = free.OrderByDescending(t => BlazeFaceDecoder.Iou(t, face.Box)).FirstOrDefault();
            if (free.Count > 0 && BlazeFaceDecoder.Iou(best, face.Box) >= 0.4f) free.Remove(best);
            else falseBoxes++;
        }
        return (truth.Count - free.Count, falseBoxes);
    }
}
