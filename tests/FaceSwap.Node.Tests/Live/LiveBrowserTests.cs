using FaceSwap.Faces;
using FaceSwap.Node.Live;
using FaceSwap.Node.Tests.Browser;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests.Live;

/// <summary>
/// End to end with a real browser: headless Chromium's fake camera plays a still photo (with a frame barcode,
/// <see cref="FakeCamera"/>) into the live page served by a real edge, which swaps in the synthetic average face.
/// The frames read back from the page's output canvas carry the session's watermark, their face changed and their
/// background did not; camera-to-display latency is read from the barcode. A screenshot is kept
/// (&lt;test output&gt;/test-results/live-browser.png).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LiveBrowserTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_webcam_in_chromium_is_swapped_with_the_average_face_marked_and_its_background_kept()
    {
        Assert.True(ChromeDriver.Available, ChromeDriver.MissingMessage);
        var astronaut = Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png");
        using var photo = ImageFile.ReadBgr(astronaut);
        using var camera = FakeCamera.Compose(photo);
        var y4m = Path.Combine(_dir.Path, "camera.y4m");
        FakeCamera.Write(y4m, photo, frames: 90);
        Rect face;
        using (var analyzer = fixture.OpenAnalyzer())
        {
            var box = Assert.Single(analyzer.Analyze(BgrImage.Of(camera))).Detection.Box;
            face = new Rect((int)box.X, (int)box.Y, (int)box.Width, (int)box.Height);
        }

        await using var node = await LiveEdgeTests.StartEdge(fixture, _dir.Path);
        await using var chrome = await ChromeDriver.StartAsync(fakeVideo: y4m, windowHeight: 1400);
        await chrome.NavigateAsync($"{LiveEdgeTests.Address(node).TrimEnd('/')}/live#token={LiveEdgeTests.LiveToken}");
        Assert.True(await chrome.WaitForAsync($"[...document.getElementById('identity').options].some(o => o.value === '{ClusterFixture.Identity}')", TimeSpan.FromSeconds(20)),
            "the edge's identities did not load into the page");
        await chrome.ExecuteAsync($"const s = document.getElementById('identity'); s.value = '{ClusterFixture.Identity}'; s.dispatchEvent(new Event('change'));");
        await chrome.ClickAsync("#start");
        Assert.True(await chrome.WaitForAsync("fsc.state === 'live' && fsc.framesShown - fsc.failModeShown >= 30", TimeSpan.FromSeconds(90)),
            $"the page did not show 30 swapped frames: {await chrome.ExecuteAsync("return JSON.stringify({state: fsc.state, reason: fsc.reason, sent: fsc.framesSent, shown: fsc.framesShown, failMode: fsc.failModeShown});")}");

        // Frames read back from the page's output canvas, as the person sees them.
        var frames = new List<Mat>();
        for (var i = 0; i < 12; i++)
        {
            var png = await chrome.ExecuteAsync<string>("return document.getElementById('output').toDataURL('image/png');");
            frames.Add(Cv2.ImDecode(Convert.FromBase64String(png[(png.IndexOf(',') + 1)..]), ImreadModes.Color));
            await Task.Delay(250);
        }
        var screenshot = await chrome.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "test-results", "live-browser.png"));
        output.WriteLine($"screenshot: {screenshot}");
        var figures = await chrome.ExecuteAsync("return {shown: fsc.framesShown, failMode: fsc.failModeShown, sent: fsc.framesSent, drops: fsc.localDrops, " +
            "latencies: fsc.latencies.filter(l => l.code !== null).map(l => l.ms), session: fsc.started.session, stats: fsc.lastStats};");
        output.WriteLine(figures!.ToJsonString());

        // The watermark names this edge and the page's session.
        var detector = new WatermarkDetector();
        foreach (var frame in frames) detector.Add(frame);
        var mark = detector.Result();
        Assert.True(mark.Marked, mark.ToString());
        Assert.Equal(WatermarkPayload.For(LiveEdgeTests.NodeName, Convert.ToUInt64(figures["session"]!.GetValue<string>(), 16)), mark.Payload);

        // The face changed; the background (outside the face grown by half, the barcode and the label's corner) did not.
        using var outside = new Mat(camera.Size(), MatType.CV_8UC1, Scalar.All(255));
        var grown = new Rect(face.X - face.Width / 2, face.Y - face.Height / 2, face.Width * 2, face.Height * 2) & new Rect(0, 0, camera.Width, camera.Height);
        outside[grown].SetTo(Scalar.All(0));
        outside[new Rect(380, 0, 260, 30)].SetTo(Scalar.All(0));            // the frame barcode (FakeCamera)
        outside[new Rect(camera.Width / 2, camera.Height - 60, camera.Width / 2, 60)].SetTo(Scalar.All(0)); // the visible label
        var swapped = frames.Select(frame =>
        {
            using var cameraFace = new Mat(camera, face);
            using var outputFace = new Mat(frame, face);
            var faceChange = MeanAbsolute(cameraFace, outputFace, null);
            var background = MeanAbsolute(camera, frame, outside);
            output.WriteLine($"face changed by {faceChange:F1} grey levels, background by {background:F2}");
            return (faceChange, background);
        }).ToList();
        Assert.All(swapped, s => Assert.True(s.background < 3.0, $"the background changed by {s.background:F2} grey levels"));
        Assert.True(swapped.Count(s => s.faceChange > 8) >= swapped.Count / 2, "the face did not change in most frames read back");

        var latencies = figures["latencies"]!.AsArray().Select(l => l!.GetValue<double>()).Order().ToArray();
        Assert.NotEmpty(latencies);
        output.WriteLine($"camera-to-display latency over {latencies.Length} frames: p50 {latencies[latencies.Length / 2]:F0} ms, p99 {latencies[(int)(latencies.Length * 0.99)]:F0} ms");

        await chrome.ClickAsync("#stop");
        Assert.True(await chrome.WaitForAsync("fsc.state === 'stopped'", TimeSpan.FromSeconds(15)), "the page did not stop");
        await ClusterFixture.Until(() => node.Host.Services.GetRequiredService<LiveSessions>().All.Count == 0, TimeSpan.FromSeconds(20), () => "the page's stream still runs");
        foreach (var frame in frames) frame.Dispose();
    }

    /// <summary>Mean absolute difference in grey levels, over <paramref name="mask"/> (null: everywhere).</summary>
    private static double MeanAbsolute(Mat a, Mat b, Mat? mask)
    {
        using var ga = new Mat();
        using var gb = new Mat();
        using var diff = new Mat();
        Cv2.CvtColor(a, ga, ColorConversionCodes.BGR2GRAY);
        Cv2.CvtColor(b, gb, ColorConversionCodes.BGR2GRAY);
        Cv2.Absdiff(ga, gb, diff);
        return (mask is null ? Cv2.Mean(diff) : Cv2.Mean(diff, mask)).Val0;
    }
}
