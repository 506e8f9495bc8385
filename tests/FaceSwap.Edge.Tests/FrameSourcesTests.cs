using System.Diagnostics;
using System.Net;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Edge.Sources;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Edge.Tests;

/// <summary>The network and camera sources, through OpenCV's FFmpeg capture, against a real FFmpeg serving a live MPEG-TS stream over HTTP.</summary>
public sealed class FrameSourcesTests(ITestOutputHelper output) : EdgeTestKit(output)
{
    [Fact]
    public async Task An_HTTP_stream_through_a_real_FFmpeg_arrives_as_BGR_frames()
    {
        using var dir = new TestPaths.TempDir();
        // A moving test pattern, MPEG-TS as a live HTTP stream would carry it, served over HTTP.
        FaceSwap.Vision.Video.Ffmpeg.Run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", Path.Combine(dir.Path, "live.ts")], "test pattern");
        var port = TestPorts.Free();
        using var server = new HttpListener();
        server.Prefixes.Add($"http://127.0.0.1:{port}/");
        server.Start();
        _ = Serve(server, Path.Combine(dir.Path, "live.ts"));
        try
        {
            var url = $"http://127.0.0.1:{port}/live.ts";
            var deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
            IReadOnlyList<Mat>? frames = null;
            while (frames is null)
            {
                try
                {
                    frames = await FrameSources.For(url).Take(20).RunWith(Sink.Seq<Mat>(), Sys.Materializer()).WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (IOException e) when (Stopwatch.GetTimestamp() < deadline)
                {
                    // The server takes a moment to listen.
                    Output?.WriteLine($"not yet: {e.Message}");
                    await Task.Delay(200);
                }
            }
            Assert.Equal(20, frames.Count);
            Assert.All(frames, f => Assert.Equal((320, 240, MatType.CV_8UC3), (f.Width, f.Height, f.Type())));
            // The pattern moves: the first and last frames differ.
            using var difference = new Mat();
            Cv2.Absdiff(frames[0], frames[^1], difference);
            Assert.True(Cv2.CountNonZero(difference.Reshape(1)) > 0);
            foreach (var f in frames) f.Dispose();
        }
        finally
        {
            server.Stop();
        }
    }

    /// <summary>Serves the file to every request (ffprobe opens the stream once, ffmpeg again), each on its own task.</summary>
    private static async Task Serve(HttpListener server, string file)
    {
        while (server.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await server.GetContextAsync();
            }
            catch (Exception) when (!server.IsListening)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                context.Response.ContentType = "video/mp2t";
                try
                {
                    await using var stream = File.OpenRead(file);
                    await stream.CopyToAsync(context.Response.OutputStream);
                }
                catch (HttpListenerException)
                {
                    // The reader hung up once it had its frames.
                }
                context.Response.Close();
            });
        }
    }

    [Fact]
    public async Task A_missing_camera_fails_the_source_with_the_device_named()
    {
        Assert.True(FrameSources.IsCapture("/dev/video97"));
        var error = await Assert.ThrowsAsync<IOException>(() => FrameSources.Capture("/dev/video97").RunWith(Sink.Ignore<Mat>(), Sys.Materializer()));
        Assert.Contains("/dev/video97", error.Message);
        Assert.Throws<FileNotFoundException>(() => FrameSources.For("/no/such/clip.mp4"));
    }
}
