using FaceSwap.Swap.Jobs;
using FaceSwap.Vision;
using FaceSwap.Vision.Video;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Swap.Tests;

/// <summary>File jobs on clips the test makes from a sample photo (slow pan and zoom, a sine tone as audio); outputs stay in a temp folder.</summary>
public sealed class FileSwapJobTests(SwapFixture fixture, ITestOutputHelper output) : IClassFixture<SwapFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

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
        var result = FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, clip, swapped, new StreamEngineOptions(), reports.Add);
        var outputInfo = MediaInfo.Probe(swapped);
        output.WriteLine($"{result.Frames} frames, {result.FramesWithFaces} with a swapped face, {result.Frames / result.Elapsed.TotalSeconds:F1} fps; output {outputInfo}");
        Assert.Equal(250, result.Frames);
        Assert.True(result.FramesWithFaces >= 240, $"only {result.FramesWithFaces} of 250 frames had a face swapped");
        Assert.Equal((input.Width, input.Height, input.Frames, input.FrameRate), (outputInfo.Width, outputInfo.Height, outputInfo.Frames, outputInfo.FrameRate));
        Assert.True(outputInfo.HasAudio, "the audio track was lost");
        Assert.Equal(250, reports.Count);
        Assert.Equal(250, reports[^1].Frame);
    }

    [Fact]
    public void A_720p_target_keeps_its_resolution()
    {
        var clip = MakeClip("hd.mp4", 1280, 720, 2);
        var swapped = Path.Combine(_dir.Path, "hd-swapped.mp4");
        FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, clip, swapped, new StreamEngineOptions());
        var info = MediaInfo.Probe(swapped);
        Assert.Equal((1280, 720, 50L), (info.Width, info.Height, info.Frames));
    }

    [Fact]
    public void Image_job_swaps_and_labels_the_image()
    {
        var swapped = Path.Combine(_dir.Path, "swapped.png");
        var target = Path.Combine(TestPaths.SamplePhotos, "sample5.jpg");
        var result = FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, target, swapped, new StreamEngineOptions());
        Assert.Equal((1L, 1L), (result.Frames, result.FramesWithFaces));
        using var before = ImageFile.ReadBgr(target);
        using var after = ImageFile.ReadBgr(swapped);
        Assert.Equal(before.Size(), after.Size());
        // The label (a dark plate with white text) changes the bottom-right corner, and only the faces elsewhere.
        var corner = new Rect(before.Width - 300, before.Height - 90, 300, 90);
        using var difference = new Mat();
        Cv2.Absdiff(before[corner], after[corner], difference);
        Assert.True(Cv2.Mean(difference).Val0 > 20, $"no visible label in the corner (mean change {Cv2.Mean(difference).Val0:F1})");
    }

    [Fact]
    public void Target_larger_than_4k_is_refused()
    {
        var huge = Path.Combine(_dir.Path, "huge.png");
        using (var image = new Mat(100, 4000, MatType.CV_8UC3, Scalar.All(0))) Cv2.ImWrite(huge, image);
        var error = Assert.Throws<ImageFileException>(() => FileSwapJob.Run(fixture.Analyzer, fixture.Average.Face, huge, Path.Combine(_dir.Path, "out.png"), new StreamEngineOptions()));
        Assert.Contains("larger than 4K", error.Problem);
    }
}
