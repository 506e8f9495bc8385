using FaceSwap.Faces;
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
    public void Once_consent_ends_the_engine_swaps_nothing_from_the_next_frame_on()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        using var consent = new CancellationTokenSource();
        var engine = new StreamSwapEngine(fixture.Analyzer, fixture.Average.Face, new StreamEngineOptions(), consent.Token);
        using (var first = photo.Clone()) Assert.Equal(5, engine.Process(first).Swapped);
        consent.Cancel();
        using var second = photo.Clone();
        var result = engine.Process(second);
        Assert.Equal((5, 0), (result.Faces, result.Swapped)); // still tracking, swapping nothing
        using var difference = new Mat();
        Cv2.Absdiff(photo, second, difference);
        Assert.Equal(0, Cv2.CountNonZero(difference.Reshape(1)));
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

    [Fact]
    public void Mapping_gives_each_face_the_source_mapped_to_its_identity_and_leaves_unmapped_faces_alone()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        // The two most frontal faces are mapped, to two different sources: the average face and a plain grey one.
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(photo)).OrderBy(AverageFaceBuilder.Turn).ToList();
        using var grey = new SourceFace(new Mat(fixture.Average.Face.Texture.Size(), MatType.CV_8UC3, Scalar.All(128)), fixture.Average.Face.Mesh);
        var mappings = new[] { new IdentityMapping(faces[0].Embedding, fixture.Average.Face), new IdentityMapping(faces[1].Embedding, grey) };
        var engine = new StreamSwapEngine(fixture.Analyzer, fixture.Average.Face,
            new StreamEngineOptions { Selection = new FaceSelection(SelectionMode.Mapping, Threshold: 0.9f, Mappings: mappings), Swap = new SwapOptions { Color = ColorTransfer.None } });
        using var frame = photo.Clone();
        Assert.Equal(2, engine.Process(frame).Swapped);

        double ChangeAt(Face face)
        {
            var box = face.Detection.Box;
            var rect = new Rect((int)(box.X + box.Width * 0.3), (int)(box.Y + box.Height * 0.6), (int)(box.Width * 0.4), (int)(box.Height * 0.2)); // cheeks and nose, below the eyes
            using var difference = new Mat();
            Cv2.Absdiff(photo[rect], frame[rect], difference);
            return Cv2.Mean(difference).Val0;
        }
        Assert.True(ChangeAt(faces[0]) > 2, "the first mapped face was not swapped");
        Assert.True(ChangeAt(faces[1]) > 2, "the second mapped face was not swapped");
        foreach (var face in faces.Skip(2)) Assert.Equal(0, ChangeAt(face));
        // The grey source really went to the second face: halfway from its nose tip (mesh point 1) to each cheek
        // (50, 280), well inside the feathered edge, it is now uniform grey.
        foreach (var point in new[] { 50, 280 })
        {
            var (tip, side) = (faces[1].Landmarks.Mesh[1], faces[1].Landmarks.Mesh[point]);
            var cheek = new Point2f((tip.X + side.X) / 2, (tip.Y + side.Y) / 2);
            Cv2.MeanStdDev(frame[new Rect((int)cheek.X - 5, (int)cheek.Y - 5, 10, 10)], out var mean, out var spread);
            Assert.True(Math.Abs(mean.Val0 - 128) < 3 && spread.Val0 < 3, $"cheek {point} of the second face does not carry the grey source (mean {mean.Val0:F1}, spread {spread.Val0:F1})");
        }
    }
}
