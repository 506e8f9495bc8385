using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FaceSwap.Vision.Video;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Vision.Tests;

/// <summary>
/// One live session shared by the recording tests (a stream takes real time): a 10 s clip with a white flash
/// (frames 125–127) and a 1 kHz beep (5.0–5.1 s) at t = 5 s is pushed by an ffmpeg client over UDP MPEG-TS into a
/// LiveIngest, and every frame goes to two LiveRecorders, one with all frames and one with only every third.
/// </summary>
public sealed class LiveRecordingSession : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();

    public LiveRecordingSession()
    {
        Clip = LiveMedia.MakeClip(_dir.Path);
        var pcm = Path.Combine(_dir.Path, "ingest.pcm");
        Full = Path.Combine(_dir.Path, "full.mp4");
        Sparse = Path.Combine(_dir.Path, "sparse.mp4");
        var port = TestPorts.Free();
        Url = $"udp://127.0.0.1:{port}";
        var clock = Stopwatch.StartNew();
        // The ingest listens first; the client may start any time after (here, as soon as the port is bound).
        var open = Task.Run(() => LiveIngest.Open(Url, new LiveIngestOptions { AudioPath = pcm, FramesPerSecond = LiveMedia.Fps, OpenTimeout = TimeSpan.FromSeconds(20), ReadTimeout = TimeSpan.FromSeconds(2) }));
        LiveMedia.WaitUntilUdpBound(port, open, TimeSpan.FromSeconds(10));
        using var client = Ffmpeg.Start("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-re", "-i", Clip,
            "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-c:a", "aac", "-f", "mpegts", $"{Url}?pkt_size=1316"], redirectInput: false);
        var clientErrors = client.StandardError.ReadToEndAsync();
        using (var ingest = open.GetAwaiter().GetResult())
        using (var full = new LiveRecorder(Full, ingest.FramesPerSecond, ingest.AudioPath))
        using (var sparse = new LiveRecorder(Sparse, ingest.FramesPerSecond, ingest.AudioPath))
        {
            (Width, Height, HasAudio) = (ingest.Width, ingest.Height, ingest.HasAudio);
            using var frame = new Mat();
            while (ingest.Read(frame))
            {
                var k = ingest.FramesRead - 1;
                if (IngestFlash < 0 && Cv2.Mean(frame).Val0 > 235) IngestFlash = k;
                full.Write(k, frame);
                if (k % 3 == 0) sparse.Write(k, frame);
            }
            Frames = ingest.FramesRead;
            IngestSeconds = clock.Elapsed.TotalSeconds;
            client.WaitForExit();
            if (client.ExitCode != 0) throw new InvalidOperationException($"the ffmpeg client failed: {clientErrors.Result}");
            IngestToneOnset = LiveMedia.ToneOnset(File.ReadAllBytes(pcm), channels: 2);
            full.Complete();
            sparse.Complete();
            SparseRepeated = sparse.Repeated;
        }
    }

    public string Url { get; }
    public string Clip { get; }
    public string Full { get; }
    public string Sparse { get; }
    public int Width { get; }
    public int Height { get; }
    public bool HasAudio { get; }
    public long Frames { get; }
    public long IngestFlash { get; } = -1;
    public long IngestToneOnset { get; }
    public long SparseRepeated { get; }
    public double IngestSeconds { get; }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition("live media", DisableParallelization = true)]
public sealed class LiveMediaCollection;

[Collection("live media")]
public sealed class LiveRecordingTests(LiveRecordingSession session, ITestOutputHelper output) : IClassFixture<LiveRecordingSession>
{
    [Fact]
    public void Ingest_keeps_video_and_audio_on_one_timeline()
    {
        Assert.Equal((640, 480), (session.Width, session.Height));
        Assert.True(session.HasAudio);
        var flash = session.IngestFlash / LiveMedia.Fps;
        var tone = session.IngestToneOnset / 48000.0;
        output.WriteLine($"ingest over UDP: {session.Frames} frames in {session.IngestSeconds:0.00} s (stream 10 s + 2 s read timeout); flash at frame {session.IngestFlash} = {flash:0.000} s, beep onset at sample {session.IngestToneOnset} = {tone:0.000} s, offset {(tone - flash) * 1000:+0.0;-0.0} ms");
        Assert.InRange(session.Frames, 237, 263);
        Assert.InRange(Math.Abs(tone - flash), 0, 1 / LiveMedia.Fps);
    }

    [Fact]
    public void Recording_of_every_frame_keeps_length_and_sync()
    {
        var measured = LiveMedia.Measure(session.Full);
        output.WriteLine($"full recording: {measured}");
        Assert.Equal(session.Frames, measured.Frames);
        AssertLengthAndSync(measured);
    }

    [Fact]
    public void Recording_with_two_frames_in_three_missing_keeps_length_and_sync()
    {
        var measured = LiveMedia.Measure(session.Sparse);
        output.WriteLine($"recording of every 3rd frame ({session.SparseRepeated} filled in): {measured}");
        var full = LiveMedia.Measure(session.Full);
        // Written: 0, 3, 6, … up to the last k ≡ 0 (mod 3) read; the recording ends there.
        Assert.Equal((session.Frames - 1) / 3 * 3 + 1, measured.Frames);
        Assert.Equal(measured.Frames - (measured.Frames + 2) / 3, session.SparseRepeated);
        AssertLengthAndSync(measured, flashTolerance: 2 / LiveMedia.Fps);
        // Same timeline as the full recording: every frame that was written sits at its own index (white where
        // the full one is white), and the flash shows at the first written frame from the full one's flash on
        // (the two before were dropped and held the previous frame), so it is late by what was dropped, no more.
        for (var k = 0; k < measured.Frames; k += 3)
            Assert.True(measured.Means[k] > 235 == full.Means[k] > 235, $"frame {k}: {measured.Means[k]:0} in the sparse recording, {full.Means[k]:0} in the full one");
        Assert.Equal((full.Flash + 2) / 3 * 3, measured.Flash);
        Assert.Equal(full.FlashVersusTone - (measured.Flash - full.Flash) / LiveMedia.Fps, measured.FlashVersusTone, 3);
    }

    private static void AssertLengthAndSync(LiveMedia.Measurement measured, double flashTolerance = 0)
    {
        Assert.InRange(measured.Duration, 9.5, 10.5);
        Assert.True(measured.AudioStart is not null, "the recording has no audio");
        Assert.InRange(Math.Abs(measured.AudioStart!.Value - measured.VideoStart), 0, 1 / LiveMedia.Fps);
        Assert.InRange(measured.Flash, 0, measured.Frames - 1);
        Assert.InRange(Math.Abs(measured.FlashVersusTone), 0, 1 / LiveMedia.Fps + flashTolerance);
    }
}

[Collection("live media")]
public sealed class LiveMediaTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Ingest_from_a_url_nobody_sends_to_fails_naming_it_within_the_timeout()
    {
        var url = $"udp://127.0.0.1:{TestPorts.Free()}";
        var clock = Stopwatch.StartNew();
        var silent = Assert.Throws<ImageFileException>(() => LiveIngest.Open(url, new LiveIngestOptions { ReadTimeout = TimeSpan.FromSeconds(1), OpenTimeout = TimeSpan.FromSeconds(5) }));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.00} s: {silent.Message}");
        Assert.Equal(url, silent.Path);
        Assert.Contains("Input/output error", silent.Problem);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.5, 4);

        // The open timeout, when shorter than the read timeout, gives up first and says so.
        clock.Restart();
        var late = Assert.Throws<ImageFileException>(() => LiveIngest.Open(url, new LiveIngestOptions { ReadTimeout = TimeSpan.FromSeconds(30), OpenTimeout = TimeSpan.FromSeconds(1) }));
        Assert.StartsWith(url + ": no video arrived within 1 s", late.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 4);
        output.WriteLine(silent.Message);
        output.WriteLine(late.Message);
    }

    [Fact]
    public void Ingest_of_a_source_without_audio_reads_its_video_and_says_so()
    {
        var clip = Path.Combine(_dir.Path, "silent.mp4");
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x240:r=30:d=1", "-c:v", "libx264", "-preset", "ultrafast", clip], clip);
        using var ingest = LiveIngest.Open(clip, new LiveIngestOptions { AudioPath = Path.Combine(_dir.Path, "none.pcm"), Width = 160, Height = 120 });
        Assert.Equal((160, 120, 30.0, false, null), (ingest.Width, ingest.Height, ingest.FramesPerSecond, ingest.HasAudio, ingest.AudioPath));
        using var frame = new Mat();
        while (ingest.Read(frame)) Assert.Equal(new Size(160, 120), frame.Size());
        Assert.Equal(30, ingest.FramesRead);
    }

    [Fact]
    public async Task Push_over_udp_reaches_a_listening_reader_as_h264_in_mpegts()
    {
        var port = TestPorts.Free();
        var url = $"udp://127.0.0.1:{port}";
        using var reader = Ffmpeg.Start("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height,pix_fmt,nb_read_frames:format=format_name", "-of", "json", $"{url}?timeout=2000000"], redirectInput: false);
        var report = reader.StandardOutput.ReadToEndAsync();
        var errors = reader.StandardError.ReadToEndAsync();
        LiveMedia.WaitUntilUdpBound(port, Task.Delay(Timeout.Infinite), TimeSpan.FromSeconds(10));

        using var push = new StreamPush(url, 320, 240, 25);
        using var frame = new Mat(240, 320, MatType.CV_8UC3);
        var clock = Stopwatch.StartNew();
        for (var k = 0; k < 75; k++)
        {
            frame.SetTo(new Scalar(k * 3 % 256, 128, 255 - k * 3 % 256));
            push.Write(frame);
            var next = TimeSpan.FromSeconds((k + 1) / 25.0) - clock.Elapsed; // paced as a live stream is
            if (next > TimeSpan.Zero) await Task.Delay(next);
        }
        push.Complete();
        Assert.True(reader.WaitForExit(10_000), "the reader did not end after the stream stopped");
        var (found, said) = (await report, await errors);
        output.WriteLine($"pushed {push.Written}, dropped {push.Dropped}; reader: {found} {said}");
        Assert.Equal(75, push.Written + push.Dropped);
        // Frames that come while ffmpeg and x264 start up are dropped, not queued: a live stream never lags behind.
        Assert.InRange(push.Written, 40, 75);
        using var json = JsonDocument.Parse(found);
        var stream = json.RootElement.GetProperty("streams")[0];
        Assert.Equal(("h264", 320, 240), (stream.GetProperty("codec_name").GetString(), stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32()));
        Assert.Equal("mpegts", json.RootElement.GetProperty("format").GetProperty("format_name").GetString());
        Assert.InRange(int.Parse(stream.GetProperty("nb_read_frames").GetString()!, CultureInfo.InvariantCulture), push.Written * 0.8, 80);
    }

    [Fact]
    public void Push_to_a_server_that_refuses_fails_with_ffmpegs_reason()
    {
        var url = $"rtsp://127.0.0.1:{TestPorts.Free()}/live";
        using var push = new StreamPush(url, 160, 120, 25);
        using var frame = new Mat(120, 160, MatType.CV_8UC3, Scalar.All(90));
        ImageFileException? error = null;
        for (var k = 0; k < 100 && error is null; k++)
        {
            try
            {
                push.Write(frame);
                Thread.Sleep(40);
            }
            catch (ImageFileException e)
            {
                error = e;
            }
        }
        error ??= Assert.Throws<ImageFileException>(() => push.Complete());
        output.WriteLine(error.Message);
        Assert.Equal(url, error.Path);
        Assert.Contains("Connection refused", error.Problem);
    }

    [Fact]
    public void Ingest_arguments_for_each_kind_of_source()
    {
        var options = new LiveIngestOptions { ReadTimeout = TimeSpan.FromSeconds(3) };
        var udp = LiveIngest.ArgumentsFor("udp://@:5004?fifo_size=1000", options with { AudioPath = "/tmp/a.pcm", FramesPerSecond = 30000 / 1001.0 });
        Assert.Equal(["-i", "udp://@:5004?fifo_size=1000&timeout=3000000&overrun_nonfatal=1&buffer_size=4194304", "-map", "0:v:0", "-fps_mode", "cfr", "-r", "30000/1001"], udp.SkipWhile(a => a != "-i").Take(8));
        Assert.Equal(["-map", "0:a:0?", "-af", "aresample=async=1:first_pts=0", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2"], udp.Skip(udp.ToList().IndexOf("0:a:0?") - 1).Take(10));
        Assert.Equal("/tmp/a.pcm", udp[^1]);
        // A live source is probed briefly: ffmpeg's default 5 s of probing would reach the edge as a 5 s stall.
        Assert.Equal(["-analyzeduration", "500000"], udp.SkipWhile(a => a != "-analyzeduration").Take(2));
        Assert.Equal(["-rtsp_transport", "tcp", "-timeout", "3000000", "-i", "rtsp://cam/1"], LiveIngest.ArgumentsFor("rtsp://cam/1", options).SkipWhile(a => a != "-rtsp_transport").Take(6));
        Assert.Equal(["-rw_timeout", "3000000", "-i", "srt://:9000?mode=listener"], LiveIngest.ArgumentsFor("srt://:9000?mode=listener", options).SkipWhile(a => a != "-rw_timeout").Take(4));
        Assert.Equal(["-f", "v4l2", "-i", "/dev/video2", "-map", "0:v:0", "-vf", "scale=320:240"], LiveIngest.ArgumentsFor("2", options with { Width = 320, Height = 240 }).SkipWhile(a => a != "-f").Take(8));
        Assert.StartsWith("gopher://x: not a source LiveIngest reads", Assert.Throws<ArgumentException>(() => LiveIngest.ArgumentsFor("gopher://x", options)).Message);
        Assert.Contains("file not found", Assert.Throws<ImageFileException>(() => LiveIngest.Open(Path.Combine(_dir.Path, "none.mp4"), options)).Problem);
    }

    [Fact]
    public void Push_arguments_for_each_kind_of_target()
    {
        var v4l2 = StreamPush.ArgumentsFor("/dev/video7", 640, 480, 30);
        Assert.Equal(["-f", "v4l2", "-pix_fmt", "yuv420p", "/dev/video7"], v4l2.TakeLast(5));
        Assert.DoesNotContain("libx264", v4l2);
        Assert.Equal(["-fps_mode", "cfr", "-r", "30"], v4l2.SkipWhile(a => a != "-fps_mode").Take(4));

        var rtsp = StreamPush.ArgumentsFor("rtsp://media:8554/live", 640, 480, 25);
        Assert.Equal(["-f", "rtsp", "-rtsp_transport", "tcp", "rtsp://media:8554/live"], rtsp.TakeLast(5));
        Assert.Equal(["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "25"], rtsp.SkipWhile(a => a != "-c:v").Take(10));

        var srt = StreamPush.ArgumentsFor("srt://obs:9000?mode=caller", 640, 480, 30000 / 1001.0);
        Assert.Equal(["-f", "mpegts", "srt://obs:9000?mode=caller"], srt.TakeLast(3));
        Assert.Equal(["-g", "30"], srt.SkipWhile(a => a != "-g").Take(2));
        Assert.Equal(["-r", "30000/1001"], srt.SkipWhile(a => a != "-r").Take(2));

        Assert.Equal(["-f", "mpegts", "udp://10.0.0.5:5000?pkt_size=1316"], StreamPush.ArgumentsFor("udp://10.0.0.5:5000", 640, 480, 25).TakeLast(3));
        Assert.Equal("-s", StreamPush.ArgumentsFor("udp://10.0.0.5:5000", 640, 480, 25).SkipWhile(a => a != "-s").First());

        var bad = Assert.Throws<ArgumentException>(() => StreamPush.ArgumentsFor("ftp://host/file", 640, 480, 25));
        Assert.StartsWith("ftp://host/file: cannot push there; give udp://", bad.Message);
        Assert.Throws<ArgumentException>(() => new StreamPush("mailto:someone", 640, 480, 25));
    }
}
