using FaceSwap.Swap.Jobs;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Swap.Tests;

/// <summary>File jobs on clips the test makes from a sample photo (slow pan and zoom, a sine tone as audio); outputs stay in a temp folder.</summary>
public sealed class FileSwapJobTests(SwapFixture fixture, ITestOutputHelper output) : IClassFixture<SwapFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly WatermarkPayload Payload = WatermarkPayload.For("test-node", 0x5e55_10b0_0042);
    private static readonly OutputMarks Marks = new(new LabelOptions(), Payload);

    private string MakeClip(string name, int width, int height, int seconds)
    {
        var path = Path.Combine(_dir.Path, name);
        var photo = Path.Combine(TestPaths.SamplePhotos, "sample5.jpg");
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-y", "-loop", "1", "-framerate", "25", "-t", $"{seconds}", "-i", photo,
            "-f", "lavfi", "-i", $"sine=frequency=440:duration={seconds}",
            "-filter_complex", $"[0:v]scale={2 * width}:-2,zoompan=z='1+0.002*on':x='iw/2-(iw/zoom/2)+on*0.4':y='ih/2-(ih/zoom/2)':d=1:s={width}x{height}:fps=25[v]",
            "-map", "[v]", "-map", "1:a", "-t", $"{seconds}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", path], path);
        return path;
    }

    [Fact]
    public void Video_job_keeps_every_frame_the_frame_rate_and_the_audio()
    {
        var clip = MakeClip("pan.mp4", 640, 480, 10);
        var input = MediaInfo.Probe(clip);
        Assert.Equal((250L, 25.0, true), (input.Frames, input.FramesPerSecond, input.HasAudio));
        var swapped = Path.Combine(_dir.Path, "swapped.mp4");
        var reports = new List<FileSwapProgress>();
        var result = FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, clip, swapped, new StreamEngineOptions(), Marks, reports.Add);
        var outputInfo = MediaInfo.Probe(swapped);
        output.WriteLine($"{result.Frames} frames, {result.FramesWithFaces} with a swapped face, {result.Frames / result.Elapsed.TotalSeconds:F1} fps; output {outputInfo}");
        Assert.Equal(250, result.Frames);
        Assert.True(result.FramesWithFaces >= 240, $"only {result.FramesWithFaces} of 250 frames had a face swapped");
        Assert.Equal((input.Width, input.Height, input.Frames, input.FrameRate), (outputInfo.Width, outputInfo.Height, outputInfo.Frames, outputInfo.FrameRate));
        Assert.True(outputInfo.HasAudio, "the audio track was lost");
        Assert.Equal(250, reports.Count);
        Assert.Equal(250, reports[^1].Frame);

        // Every frame of the H.264 output carries the watermark with this job's payload.
        var detector = new WatermarkDetector();
        var alone = 0;
        using (var reader = new VideoFileReader(swapped, outputInfo))
        using (var frame = new Mat())
            while (reader.Read(frame))
            {
                detector.Add(frame);
                if (Watermark.Detect(frame) is { Marked: true } one && one.Payload == Payload) alone++;
            }
        var combined = detector.Result();
        output.WriteLine($"watermark: {combined}; {alone}/250 frames marked on their own");
        Assert.Equal(Payload, combined.Payload);
        Assert.Equal(250, alone);
    }

    [Fact]
    public void Cancelling_a_video_job_stops_it_and_deletes_the_partial_output()
    {
        var clip = MakeClip("long.mp4", 640, 480, 10);
        var swapped = Path.Combine(_dir.Path, "cancelled.mp4");
        using var cancel = new CancellationTokenSource();
        long lastFrame = 0;
        Assert.Throws<OperationCanceledException>(() => FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, clip, swapped, new StreamEngineOptions(), Marks, p =>
        {
            lastFrame = p.Frame;
            if (p.Frame == 20) cancel.Cancel();
        }, cancel.Token));
        Assert.Equal(20, lastFrame); // not one frame more
        Assert.False(File.Exists(swapped), "the partial output was left behind");
    }

    [Fact]
    public void A_720p_target_keeps_its_resolution()
    {
        var clip = MakeClip("hd.mp4", 1280, 720, 2);
        var swapped = Path.Combine(_dir.Path, "hd-swapped.mp4");
        FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, clip, swapped, new StreamEngineOptions(), Marks);
        var info = MediaInfo.Probe(swapped);
        Assert.Equal((1280, 720, 50L), (info.Width, info.Height, info.Frames));
    }

    [Fact]
    public void Image_job_swaps_and_labels_the_image()
    {
        var swapped = Path.Combine(_dir.Path, "swapped.png");
        var target = Path.Combine(TestPaths.SamplePhotos, "sample5.jpg");
        var result = FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, target, swapped, new StreamEngineOptions(), Marks);
        Assert.Equal((1L, 1L), (result.Frames, result.FramesWithFaces));
        using var before = ImageFile.ReadBgr(target);
        using var after = ImageFile.ReadBgr(swapped);
        Assert.Equal(before.Size(), after.Size());
        // The label (a dark plate with white text) changes the bottom-right corner, and only the faces elsewhere.
        var corner = new Rect(before.Width - 300, before.Height - 90, 300, 90);
        using var difference = new Mat();
        Cv2.Absdiff(before[corner], after[corner], difference);
        Assert.True(Cv2.Mean(difference).Val0 > 20, $"no visible label in the corner (mean change {Cv2.Mean(difference).Val0:F1})");
        Assert.Equal(Payload, Watermark.Detect(after).Payload);
    }

    [Fact]
    public void The_label_follows_its_options_and_can_be_off()
    {
        var target = Path.Combine(TestPaths.SamplePhotos, "sample5.jpg");
        using var before = ImageFile.ReadBgr(target);
        double Change(LabelOptions label, Rect corner)
        {
            var swapped = Path.Combine(_dir.Path, $"label-{label.Corner}-{label.Enabled}.png");
            FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, target, swapped, new StreamEngineOptions(), new OutputMarks(label, Payload));
            using var after = ImageFile.ReadBgr(swapped);
            using var difference = new Mat();
            Cv2.Absdiff(before[corner], after[corner], difference);
            return Cv2.Mean(difference).Val0;
        }
        var topLeft = new Rect(0, 0, 300, 90);
        Assert.True(Change(new LabelOptions { Corner = LabelCorner.TopLeft }, topLeft) > 20, "no label top-left");
        Assert.True(Change(new LabelOptions { Enabled = false, Corner = LabelCorner.TopLeft }, topLeft) < 3, "a label although it is off");
    }

    [Fact]
    public void Target_smaller_than_the_watermark_needs_is_refused()
    {
        var tiny = Path.Combine(_dir.Path, "tiny.png");
        using (var image = new Mat(60, 80, MatType.CV_8UC3, Scalar.All(128))) Cv2.ImWrite(tiny, image);
        var error = Assert.Throws<ImageFileException>(() => FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, tiny, Path.Combine(_dir.Path, "out.png"), new StreamEngineOptions(), Marks));
        Assert.Contains("smallest frame the watermark can mark", error.Problem);
    }

    [Fact]
    public void Target_larger_than_4k_is_refused()
    {
        var huge = Path.Combine(_dir.Path, "huge.png");
        using (var image = new Mat(100, 4000, MatType.CV_8UC3, Scalar.All(0))) Cv2.ImWrite(huge, image);
        var error = Assert.Throws<ImageFileException>(() => FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, huge, Path.Combine(_dir.Path, "out.png"), new StreamEngineOptions(), Marks));
        Assert.Contains("larger than 4K", error.Problem);
    }
}
