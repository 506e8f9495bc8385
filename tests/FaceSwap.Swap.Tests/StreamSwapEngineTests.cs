using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Swap.Tests;

public sealed class StreamSwapEngineTests(SwapFixture fixture, ITestOutputHelper output) : IClassFixture<SwapFixture>
{
    [Fact]
    public void Still_sequence_keeps_landmarks_and_the_swapped_face_steady()
    {
        using var still = StillFrames.Astronaut640x480();
        var smoothed = SwapEvaluation.StillSequence(fixture.Analyzer, fixture.Average.Face, still, new StreamEngineOptions(), noiseSigma: 1);
        output.WriteLine($"smoothed, noise 1: {smoothed}");
        // Heavier noise makes FaceMesh itself jitter: that is what the filter is for.
        var noisySmoothed = SwapEvaluation.StillSequence(fixture.Analyzer, fixture.Average.Face, still, new StreamEngineOptions(), noiseSigma: 8);
        var raw = SwapEvaluation.StillSequence(fixture.Analyzer, fixture.Average.Face, still, new StreamEngineOptions { SmoothingMinCutoff = 1000, SmoothingBeta = 0 }, noiseSigma: 8);
        output.WriteLine($"smoothed, noise 8: {noisySmoothed}");
        output.WriteLine($"unsmoothed, noise 8: {raw}");
        Assert.True(smoothed.LandmarkStd <= 0.5, $"landmark std {smoothed.LandmarkStd:F3} px > 0.5 px");
        Assert.True(smoothed.Flicker <= 1.0, $"face-region flicker {smoothed.Flicker:F3} > 1.0 grey level");
        Assert.True(noisySmoothed.Jitter < raw.Jitter / 2, $"smoothing should steady the landmarks: jitter {noisySmoothed.Jitter:F3} px, unsmoothed {raw.Jitter:F3} px");
        Assert.Equal(12, smoothed.Detections); // frames 0, 5, …, 55: tracking in between
    }

    [Theory]
    [InlineData(SelectionMode.All, 5)]
    [InlineData(SelectionMode.Largest, 1)]
    [InlineData(SelectionMode.Leftmost, 1)]
    public void Selection_mode_decides_how_many_faces_are_swapped(SelectionMode mode, int swapped)
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        var engine = new StreamSwapEngine(fixture.Analyzer, fixture.Average.Face, new StreamEngineOptions { Selection = new FaceSelection(mode) });
        var result = engine.Process(photo);
        Assert.Equal((5, swapped), (result.Faces, result.Swapped));
    }

    [Fact]
    public void Reference_selection_swaps_only_the_face_that_matches_the_reference()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(photo));
        var reference = faces.MinBy(f => f.Detection.Box.X)!;
        var engine = new StreamSwapEngine(fixture.Analyzer, fixture.Average.Face,
            new StreamEngineOptions { Selection = new FaceSelection(SelectionMode.Reference, reference.Embedding, Threshold: 0.995f) });
        using var frame = photo.Clone();
        Assert.Equal(1, engine.Process(frame).Swapped);
        using var difference = new Mat();
        Cv2.Absdiff(photo, frame, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        var changed = Cv2.BoundingRect(grey);
        Assert.True(FaceSwap.Faces.Detection.BlazeFaceDecoder.Iou(new Rect2f(changed.X, changed.Y, changed.Width, changed.Height), reference.Detection.Box) > 0.3f,
            $"changed region {changed} is not the reference face {reference.Detection}");
    }
}
