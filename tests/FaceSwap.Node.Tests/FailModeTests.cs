using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Swap.Evaluation;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The worker stops mid-stream (a graceful leave, as on SIGTERM, with no other worker to take its shards): each
/// fail mode keeps frames coming at the stream's rate, with the mode's content. Three streams, one per mode, share
/// the cluster so the worker is stopped once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FailModeTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private const double Fps = 10;

    private sealed record Output(long Seq, bool FailMode, Mat Image, long At);

    [Fact]
    public async Task With_the_worker_stopped_every_fail_mode_keeps_the_rate_and_shows_its_content()
    {
        await using var seed = await fixture.Start([Roles.Seed]);
        await using var worker = await fixture.Start([Roles.Worker], seed.Settings.SelfAddress);
        await using var edge = await fixture.Start([Roles.Edge], seed.Settings.SelfAddress);
        await ClusterFixture.AllUp(3, seed, worker, edge);
        using var still = StillFrames.Astronaut640x480();

        var modes = new[] { FailMode.Blur, FailMode.Hold, FailMode.Passthrough };
        var outputs = modes.ToDictionary(m => m, _ => new ConcurrentQueue<Output>());
        var handles = modes.ToDictionary(m => m, mode => EdgeStream.Run(edge.System,
            Source.Repeat(0).Throttle(1, TimeSpan.FromSeconds(1 / Fps), 1, ThrottleMode.Shaping).Select(_ => still.Clone()),
            new EdgeStreamOptions { StreamId = $"fail-{mode}", Swap = new StreamSettings(ClusterFixture.Identity, DetectEvery: 5), FramesPerSecond = Fps, BudgetMs = 300, FailMode = mode },
            edge.Detect, edge.Swap,
            Sink.ForEach<EmittedFrame>(f => outputs[mode].Enqueue(new Output(f.Seq, f.FailMode, f.Image, Stopwatch.GetTimestamp()))), marks: null));

        // Healthy first: every stream gets swapped frames.
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (modes.Any(m => outputs[m].Count(o => !o.FailMode) < 5))
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, "streams were not served within a minute: " + string.Join(", ", modes.Select(m => $"{m} {handles[m].Ledger.Snapshot().Served}")));
            await Task.Delay(100);
        }
        await worker.Stop();
        var stopped = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var window = (From: stopped + Stopwatch.Frequency * 1, To: stopped + Stopwatch.Frequency * 3);
        foreach (var handle in handles.Values) handle.Capture.Shutdown();
        await Task.WhenAll(handles.Values.Select(h => h.Completion)).WaitAsync(TimeSpan.FromSeconds(30));

        // Hold shows the last frame served before the worker left.
        var lastServed = modes.ToDictionary(m => m, m => outputs[m].Last(o => !o.FailMode).Image);
        using var faceRegion = SwappedRegion(still, lastServed[FailMode.Passthrough]);
        foreach (var mode in modes)
        {
            var late = outputs[mode].Where(o => o.At >= window.From && o.At < window.To).ToList();
            var stats = handles[mode].Ledger.Snapshot();
            output.WriteLine($"{mode}: {late.Count} frames in the 2 s after the first second without a worker; {StreamReport.Format(stats, TimeSpan.FromSeconds(1), 0).Split('\n')[0]}");
            Assert.True(late.Count >= 0.7 * 2 * Fps, $"{mode}: {late.Count} frames in 2 s at {Fps} fps");
            Assert.All(late, o => Assert.True(o.FailMode, $"{mode}: frame {o.Seq} was served with the worker gone"));
            foreach (var frame in late)
            {
                switch (mode)
                {
                    case FailMode.Passthrough:
                        Assert.True(DifferingPixels(frame.Image, still) == 0, $"passthrough frame {frame.Seq} differs from the input in {DifferingPixels(frame.Image, still)} values");
                        break;
                    case FailMode.Hold:
                        Assert.Equal(0, DifferingPixels(frame.Image, lastServed[mode]));
                        break;
                    default:
                        // The face is not shown: its region is blurred, far smoother than the real face.
                        var sharpness = Sharpness(frame.Image, faceRegion);
                        var real = Sharpness(still, faceRegion);
                        Assert.True(sharpness < real / 4, $"blur: face-region sharpness {sharpness:F1}, the real face's {real:F1}");
                        break;
                }
            }
            Assert.Equal(stats.Offered, stats.Served + stats.DroppedTotal + stats.FailMode + stats.InFlight);
        }
        foreach (var o in outputs.Values.SelectMany(q => q)) o.Image.Dispose();
    }

    /// <summary>The bounding box of where the swap changed the still: the face.</summary>
    private static Mat SwappedRegion(Mat still, Mat swapped)
    {
        using var difference = new Mat();
        Cv2.Absdiff(still, swapped, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        Cv2.Threshold(grey, grey, 8, 255, ThresholdTypes.Binary);
        var box = Cv2.BoundingRect(grey);
        Assert.True(box.Width > 40 && box.Height > 40, $"the served frames show no swapped face ({box})");
        var mask = new Mat(still.Size(), MatType.CV_8UC1, Scalar.All(0));
        mask[box].SetTo(Scalar.All(255));
        return mask;
    }

    private static int DifferingPixels(Mat a, Mat b)
    {
        using var difference = new Mat();
        Cv2.Absdiff(a, b, difference);
        return Cv2.CountNonZero(difference.Reshape(1));
    }

    /// <summary>Variance of the Laplacian inside the mask: detail that identifies a face.</summary>
    private static double Sharpness(Mat image, Mat mask)
    {
        using var grey = image.CvtColor(ColorConversionCodes.BGR2GRAY);
        using var laplacian = new Mat();
        Cv2.Laplacian(grey, laplacian, MatType.CV_64F);
        Cv2.MeanStdDev(laplacian, out _, out var std, mask);
        return std.Val0 * std.Val0;
    }
}
