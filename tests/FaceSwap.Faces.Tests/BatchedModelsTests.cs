using System.Diagnostics;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Faces.Tests;

/// <summary>The batched detector and FaceMesh, as a worker runs them for many streams, against the one-at-a-time models.</summary>
public sealed class BatchedModelsTests(AnalyzerFixture fixture, ITestOutputHelper output) : IClassFixture<AnalyzerFixture>
{
    // Long enough that concurrent callers on a loaded machine land in one batch.
    private static readonly BatchingOptions Batching = new() { MaxBatch = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public async Task Faces_of_several_streams_fitted_in_one_batch_each_get_their_own_landmarks_equal_to_a_single_run()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var image = BgrImage.Of(photo);
        var faces = fixture.Analyzer.Detector.Detect(image).Take(6).ToList();
        Assert.True(faces.Count >= 4, $"sample1 has {faces.Count} faces");
        var expected = faces.Select(f =>
        {
            var single = new FaceLandmarks();
            fixture.Analyzer.Landmarker.Process(image, f, single);
            return single;
        }).ToList();

        using var batched = new BatchedLandmarker(fixture.Analyzer.Landmarker.Model, Batching, NullLogger.Instance);
        using var start = new Barrier(faces.Count);
        var got = await Task.WhenAll(faces.Select((face, i) => Task.Factory.StartNew(() =>
        {
            var fitter = batched.For($"stream-{i}");
            var result = new FaceLandmarks();
            start.SignalAndWait();
            fitter.Process(image, face, result);
            return result;
        }, TaskCreationOptions.LongRunning)));

        var stats = batched.Batcher.Stats();
        output.WriteLine(stats.ToString());
        Assert.True(stats.MeanBatch > 1, $"no batch formed: {stats}");
        for (var i = 0; i < faces.Count; i++)
        {
            var worst = Enumerable.Range(0, FaceLandmarks.Count).Max(p => Distance(expected[i].Mesh[p], got[i].Mesh[p]));
            output.WriteLine($"face {i}: worst point {worst:E2} px from the single run, presence {got[i].Presence:F3}");
            Assert.True(worst < 0.01, $"face {i}: a point is {worst} px from the single run's");
            Assert.Equal(expected[i].Presence, got[i].Presence, 3);
        }
    }

    [Fact]
    public async Task Frames_of_several_streams_detected_in_one_batch_each_get_their_own_faces_equal_to_a_single_run()
    {
        var photos = Enumerable.Range(1, 4).Select(n => ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg"))).ToList();
        try
        {
            using var single = new Detector(fixture.Analyzer.Detector.Model);
            var expected = photos.Select(p => single.Detect(BgrImage.Of(p))).ToList();
            using var batched = new BatchedDetector(fixture.Analyzer.Detector.Model, new DetectorOptions(), Batching, NullLogger.Instance);
            using var start = new Barrier(photos.Count);
            var got = await Task.WhenAll(photos.Select((photo, i) => Task.Factory.StartNew(() =>
            {
                var faces = new List<FaceDetection>();
                start.SignalAndWait();
                batched.Detect(BgrImage.Of(photo), faces, $"stream-{i}", long.MaxValue);
                return faces;
            }, TaskCreationOptions.LongRunning)));

            Assert.True(batched.Batcher.Stats().MeanBatch > 1, $"no batch formed: {batched.Batcher.Stats()}");
            for (var i = 0; i < photos.Count; i++)
            {
                output.WriteLine($"sample{i + 1}: {got[i].Count} faces batched, {expected[i].Count} single");
                Assert.Equal(expected[i].Count, got[i].Count);
                for (var f = 0; f < got[i].Count; f++)
                {
                    Assert.Equal(expected[i][f].Box.X, got[i][f].Box.X, 0.01f);
                    Assert.Equal(expected[i][f].Box.Width, got[i][f].Box.Width, 0.01f);
                    Assert.Equal(expected[i][f].Score, got[i][f].Score, 3);
                }
            }
        }
        finally
        {
            foreach (var p in photos) p.Dispose();
        }
    }

    [Fact]
    public void A_request_whose_budget_is_spent_is_refused_before_the_model_sees_it()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Detector.Detect(BgrImage.Of(photo))[0];
        using var batched = new BatchedLandmarker(fixture.Analyzer.Landmarker.Model, Batching, NullLogger.Instance);
        var spent = Stopwatch.GetTimestamp() - 1;
        var e = Assert.Throws<BudgetExpiredException>(() => batched.Process(BgrImage.Of(photo), face, new FaceLandmarks(), "late", spent));
        Assert.Equal("late", e.Stream);
        var stats = batched.Batcher.Stats();
        Assert.Equal((1L, 0L, 0L), (stats.Expired, stats.Requests, stats.Batches));
    }

    [Fact]
    public void A_model_of_another_preset_or_a_tiled_detector_is_refused()
    {
        Assert.Contains("preset 'facemesh'", Assert.Throws<ArgumentException>(() => new BatchedLandmarker(fixture.Analyzer.Detector.Model, Batching, NullLogger.Instance)).Message);
        Assert.Contains("full-frame pass only", Assert.Throws<ArgumentException>(() => new BatchedDetector(fixture.Analyzer.Detector.Model, DetectorOptions.Photos, Batching, NullLogger.Instance)).Message);
    }

    private static float Distance(Point3f a, Point3f b) => MathF.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}
