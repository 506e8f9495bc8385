using FaceSwap.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Swap.Tests;

public sealed class StreamSwapEngineTests(SwapFixture fixture, ITestOutputHelper output) : IClassFixture<SwapFixture>
{
    /// <summary>scikit-image's astronaut letterboxed into 640×480: one face, as a camera frame.</summary>
    private static Mat CameraFrame()
    {
        using var astronaut = ImageFile.ReadBgr(Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png"));
        var frame = new Mat(480, 640, MatType.CV_8UC3, Scalar.All(0));
        using var resized = astronaut.Resize(new Size(480, 480));
        resized.CopyTo(frame[new Rect(80, 0, 480, 480)]);
        return frame;
    }

    private (double MeanStd, double MaxStd, double Jitter, double Flicker, int Detections) StillSequence(StreamEngineOptions options, double noiseSigma = 1)
    {
        using var still = CameraFrame();
        var engine = new StreamSwapEngine(fixture.Analyzer, fixture.Average.Face, options);
        var meshes = new List<Point2f[]>();
        var frames = new List<Mat>();
        var random = new RNG(1234);
        var detections = 0;
        using var face = new Mat(still.Size(), MatType.CV_8UC1, Scalar.All(0));
        try
        {
            for (var i = 0; i < 60; i++)
            {
                // The same frame with fresh sensor-like noise each time (σ = 1 grey level).
                var frame = still.Clone();
                using (var noise = new Mat(frame.Size(), MatType.CV_16SC3))
                using (var noisy = new Mat())
                {
                    random.Fill(noise, DistributionType.Normal, Scalar.All(0), Scalar.All(noiseSigma));
                    frame.ConvertTo(noisy, MatType.CV_16SC3);
                    Cv2.Add(noisy, noise, noisy);
                    noisy.ConvertTo(frame, MatType.CV_8UC3);
                }
                var result = engine.Process(frame);
                Assert.Equal(1, result.Faces);
                Assert.Equal(1, result.Swapped);
                if (result.Detected) detections++;
                var mesh = engine.Tracks[0].Landmarks.Mesh;
                meshes.Add(mesh.Select(p => new Point2f(p.X, p.Y)).ToArray());
                if (i == 0) SwappedRegion(mesh, face);
                frames.Add(frame);
            }
            // Skip the first 10 frames: the filter starts from the first measurement.
            var settled = meshes.Skip(10).ToList();
            var std = Enumerable.Range(0, settled[0].Length).Select(p =>
            {
                double mx = settled.Average(m => m[p].X), my = settled.Average(m => m[p].Y);
                return Math.Sqrt(settled.Average(m => (m[p].X - mx) * (m[p].X - mx) + (m[p].Y - my) * (m[p].Y - my)));
            }).ToList();
            // Frame-to-frame movement of the points: what a viewer sees as jitter.
            var jitter = settled.Skip(1).Select((m, i) => m.Zip(settled[i], (a, b) => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y))).Average()).Average();
            var flicker = new List<double>();
            for (var i = 11; i < frames.Count; i++)
            {
                using var a = frames[i - 1].CvtColor(ColorConversionCodes.BGR2GRAY);
                using var b = frames[i].CvtColor(ColorConversionCodes.BGR2GRAY);
                using var difference = new Mat();
                Cv2.Absdiff(a, b, difference);
                flicker.Add(Cv2.Mean(difference, face).Val0);
            }
            return (std.Average(), std.Max(), jitter, flicker.Average(), detections);
        }
        finally
        {
            foreach (var frame in frames) frame.Dispose();
        }
    }

    /// <summary>Where the source's face replaces the target's: the face oval less the eye and mouth openings the swap keeps.</summary>
    private static void SwappedRegion(Point3f[] mesh, Mat mask)
    {
        Point[] Ring(ReadOnlySpan<int> indices)
        {
            var ring = new Point[indices.Length];
            for (var i = 0; i < indices.Length; i++) ring[i] = new Point((int)mesh[indices[i]].X, (int)mesh[indices[i]].Y);
            return ring;
        }
        Cv2.FillPoly(mask, [Ring(MeshTopology.FaceOval)], Scalar.All(255));
        Cv2.FillPoly(mask, [Ring(MeshTopology.RightEye), Ring(MeshTopology.LeftEye), Ring(MeshTopology.MouthOpening)], Scalar.All(0));
    }

    [Fact]
    public void Still_sequence_keeps_landmarks_and_the_swapped_face_steady()
    {
        var smoothed = StillSequence(new StreamEngineOptions());
        var raw = StillSequence(new StreamEngineOptions { SmoothingMinCutoff = 1000, SmoothingBeta = 0 });
        output.WriteLine($"smoothed: landmark std mean {smoothed.MeanStd:F3} px (max {smoothed.MaxStd:F3}), jitter {smoothed.Jitter:F3} px, flicker {smoothed.Flicker:F3} grey levels, {smoothed.Detections} detections in 60 frames");
        output.WriteLine($"unsmoothed: landmark std mean {raw.MeanStd:F3} px (max {raw.MaxStd:F3}), jitter {raw.Jitter:F3} px, flicker {raw.Flicker:F3} grey levels");
        Assert.True(smoothed.MeanStd <= 0.5, $"landmark std {smoothed.MeanStd:F3} px > 0.5 px");
        Assert.True(smoothed.Flicker <= 1.0, $"face-region flicker {smoothed.Flicker:F3} > 1.0 grey level");
        Assert.True(smoothed.Jitter < raw.Jitter, $"smoothing should steady the landmarks: jitter {smoothed.Jitter:F3} px, unsmoothed {raw.Jitter:F3} px");
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
