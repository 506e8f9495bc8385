using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Vision.Tests;

public sealed class WatermarkTests : IDisposable
{
    private static readonly WatermarkPayload Payload = WatermarkPayload.For("worker-1", 0x1234_56AB);
    private static readonly Size Vga = new(640, 480);
    private readonly TestPaths.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Payload_round_trips_through_a_marked_photo()
    {
        using var frame = Photo("sample2.jpg", Vga);
        Watermark.Embed(frame, Payload);
        var found = Watermark.Detect(frame);
        Assert.True(found.Marked, found.ToString());
        Assert.Equal(Payload, found.Payload);
        Assert.InRange(found.Score, 0.9, 1.0);
    }

    [Theory]
    [InlineData(128, 96)]
    [InlineData(1366, 768)] // cells of 21.3 × 16 pixels: the grid does not divide the frame
    [InlineData(3840, 2160)]
    public void Payload_round_trips_at_the_smallest_odd_and_largest_sizes(int width, int height)
    {
        using var frame = Photo("sample5.jpg", new Size(width, height));
        Watermark.Embed(frame, Payload);
        Assert.Equal(Payload, Watermark.Detect(frame).Payload);
    }

    [Fact]
    public void Mark_survives_jpeg_75_and_half_size_in_either_order()
    {
        using var frame = Photo("sample3.jpg", Vga);
        Watermark.Embed(frame, Payload);
        using var half = Half(frame);
        using var halfThenJpeg = Jpeg75(half);
        using var jpeg = Jpeg75(frame);
        using var jpegThenHalf = Half(jpeg);
        Assert.Equal(Payload, Watermark.Detect(halfThenJpeg).Payload);
        Assert.Equal(Payload, Watermark.Detect(jpegThenHalf).Payload);
    }

    [Fact]
    public void Unmarked_photos_and_generated_patterns_are_reported_unmarked()
    {
        using var photo = Photo("sample1.jpg", Vga);
        using var grey = new Mat(Vga, MatType.CV_8UC3, Scalar.All(128)); // every pair reads 0: the key's own dither decodes
        using var bars = ColourBars();
        using var noise = new Mat(Vga, MatType.CV_8UC3);
        Cv2.SetTheRNG(7);
        Cv2.Randu(noise, Scalar.All(0), Scalar.All(256));
        foreach (var (name, frame) in new[] { ("photo", photo), ("grey", grey), ("bars", bars), ("noise", noise) })
        {
            var found = Watermark.Detect(frame);
            Assert.False(found.Marked, $"{name}: {found}");
            Assert.Null(found.Payload);
        }
        Assert.False(Watermark.Detect([photo, grey, bars, noise]).Marked);
    }

    [Fact]
    public void Psnr_stays_above_40_db_on_photos_plain_backgrounds_and_saturated_colours()
    {
        using var photo = Photo("sample4.jpg", Vga);
        using var white = FaceOn(Scalar.All(255));
        using var black = FaceOn(Scalar.All(0));
        using var bars = ColourBars();
        foreach (var (name, frame) in new[] { ("photo", photo), ("white", white), ("black", black), ("bars", bars) })
        {
            using var marked = frame.Clone();
            Watermark.Embed(marked, Payload);
            var psnr = Cv2.PSNR(frame, marked);
            Assert.True(psnr >= 40, $"{name}: PSNR {psnr:F2} dB < 40");
            Assert.True(psnr < 60, $"{name}: PSNR {psnr:F2} dB: the frame was hardly changed"); // the mark is really there
            using var attacked = Jpeg75(marked);
            Assert.Equal(Payload, Watermark.Detect(attacked).Payload);
        }
    }

    [Fact]
    public void H264_clip_through_the_video_writer_and_reader_is_detected()
    {
        const int frames = 12;
        var path = Path.Combine(_dir.Path, "marked.mp4");
        using (var room = new Mat(Vga, MatType.CV_8UC3, new Scalar(170, 160, 150)))
        using (var face = Photo("sample2.jpg", new Size(210, 250)))
        using (var writer = new VideoFileWriter(path, new MediaInfo(Vga.Width, Vga.Height, 25, "25", frames, false, frames / 25.0), null, crf: 23))
        {
            for (var i = 0; i < frames; i++)
            {
                // A head swaying over a still room, as from a webcam.
                using var frame = room.Clone();
                using (var target = frame[new Rect(200 + 8 * i, 110 + 3 * i, 210, 250)]) face.CopyTo(target);
                Watermark.Embed(frame, Payload);
                writer.Write(frame);
            }
            writer.Complete();
        }
        var info = MediaInfo.Probe(path);
        using var reader = new VideoFileReader(path, info);
        using var decoded = new Mat(info.Height, info.Width, MatType.CV_8UC3);
        var video = new WatermarkDetector();
        var single = 0;
        while (reader.Read(decoded))
        {
            if (Watermark.Detect(decoded).Payload == Payload) single++;
            video.Add(decoded);
        }
        Assert.Equal(frames, video.Frames);
        Assert.Equal(Payload, video.Result().Payload);
        Assert.True(single >= frames / 2, $"only {single} of {frames} frames carry the mark on their own");
    }

    [Fact]
    public void Frames_combined_find_a_mark_too_damaged_in_any_one_frame()
    {
        using var clean = Photo("sample6.jpg", Vga);
        Watermark.Embed(clean, Payload);
        Cv2.SetTheRNG(11);
        var damaged = Enumerable.Range(0, 16).Select(_ => WithCellNoise(clean, sigma: 7)).ToList();
        try
        {
            Assert.All(damaged, frame => Assert.False(Watermark.Detect(frame).Marked));
            Assert.Equal(Payload, Watermark.Detect(damaged).Payload);
        }
        finally
        {
            damaged.ForEach(frame => frame.Dispose());
        }
    }

    [Fact]
    public void Wrong_frame_type_or_size_is_refused_with_a_clear_error()
    {
        using var grey = new Mat(Vga, MatType.CV_8UC1, Scalar.All(128));
        using var floats = new Mat(Vga, MatType.CV_32FC3, Scalar.All(0.5));
        using var small = new Mat(80, 100, MatType.CV_8UC3, Scalar.All(128));
        using var tiny = new Mat(24, 32, MatType.CV_8UC3, Scalar.All(128));
        using var empty = new Mat();
        Assert.Contains("8-bit 3-channel BGR", Assert.Throws<ArgumentException>(() => Watermark.Embed(grey, Payload)).Message);
        Assert.Contains("8-bit 3-channel BGR", Assert.Throws<ArgumentException>(() => Watermark.Embed(floats, Payload)).Message);
        Assert.Contains("an empty frame", Assert.Throws<ArgumentException>(() => Watermark.Embed(empty, Payload)).Message);
        Assert.Contains("8-bit 3-channel BGR", Assert.Throws<ArgumentException>(() => Watermark.Detect(grey)).Message);
        var tooSmall = Assert.Throws<ArgumentException>(() => Watermark.Embed(small, Payload)).Message;
        Assert.Contains("100x80", tooSmall);
        Assert.Contains("128x96", tooSmall);
        Assert.Contains("32x24", Assert.Throws<ArgumentException>(() => Watermark.Detect(tiny)).Message);
        Watermark.Detect(small); // a half-size copy of the smallest marked frame can still be searched
    }

    [Fact]
    public void Payload_validates_the_session_and_derives_the_node_from_its_name()
    {
        Assert.Equal(0x1302, WatermarkPayload.NodeIdOf("worker-1")); // SHA-256("worker-1") begins 13 02
        Assert.Equal("node 0x1302 session 0x0000123456ab", Payload.ToString());
        Assert.Equal(WatermarkPayload.MaxSession, new WatermarkPayload(1, WatermarkPayload.MaxSession).Session);
        Assert.Contains("48 bits", Assert.Throws<ArgumentOutOfRangeException>(() => new WatermarkPayload(1, 1UL << 48)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Payload with { Session = ulong.MaxValue });
        Assert.Throws<ArgumentException>(() => WatermarkPayload.NodeIdOf(" "));
    }

    /// <summary>A sample photo, centre-cropped to the size's aspect ratio and resized to it.</summary>
    private static Mat Photo(string name, Size size)
    {
        using var image = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, name));
        var aspect = (double)size.Width / size.Height;
        int width = Math.Min(image.Width, (int)(image.Height * aspect)), height = Math.Min(image.Height, (int)(image.Width / aspect));
        using var crop = image[new Rect((image.Width - width) / 2, (image.Height - height) / 2, width, height)];
        var frame = new Mat();
        Cv2.Resize(crop, frame, size, 0, 0, width >= size.Width ? InterpolationFlags.Area : InterpolationFlags.Linear);
        return frame;
    }

    /// <summary>A face on a plain 640×480 background: mostly flat, as many output frames are.</summary>
    private static Mat FaceOn(Scalar background)
    {
        var frame = new Mat(Vga, MatType.CV_8UC3, background);
        using var face = Photo("sample1.jpg", new Size(210, 250));
        using var target = frame[new Rect(215, 110, 210, 250)];
        face.CopyTo(target);
        return frame;
    }

    /// <summary>Fully saturated colour bars, as ffmpeg's testsrc2: every channel at 0 or 255, so no cell can move grey.</summary>
    private static Mat ColourBars()
    {
        var frame = new Mat(Vga, MatType.CV_8UC3);
        Scalar[] colours = [new(0, 0, 255), new(0, 255, 0), new(0, 255, 255), new(255, 0, 0), new(255, 0, 255), new(255, 255, 0)];
        for (var i = 0; i < colours.Length; i++)
            frame.Rectangle(new Rect(i * Vga.Width / colours.Length, 0, Vga.Width / colours.Length + 1, Vga.Height), colours[i], -1);
        frame.Circle(new Point(320, 240), 90, Scalar.All(128), -1);
        return frame;
    }

    /// <summary>Adds an independent random offset to each watermark cell: damage aimed squarely at the mark.</summary>
    private static Mat WithCellNoise(Mat frame, double sigma)
    {
        using var cells = new Mat(Watermark.GridHeight, Watermark.GridWidth, MatType.CV_32FC1);
        Cv2.Randn(cells, Scalar.All(0), Scalar.All(sigma));
        using var field = new Mat();
        Cv2.Resize(cells, field, frame.Size(), 0, 0, InterpolationFlags.Nearest);
        using var field3 = new Mat();
        Cv2.Merge([field, field, field], field3);
        using var sum = new Mat();
        frame.ConvertTo(sum, MatType.CV_32FC3);
        Cv2.Add(sum, field3, sum);
        var damaged = new Mat();
        sum.ConvertTo(damaged, MatType.CV_8UC3);
        return damaged;
    }

    private static Mat Jpeg75(Mat frame)
    {
        Cv2.ImEncode(".jpg", frame, out var bytes, new ImageEncodingParam(ImwriteFlags.JpegQuality, 75));
        return Cv2.ImDecode(bytes, ImreadModes.Color);
    }

    private static Mat Half(Mat frame)
    {
        var half = new Mat();
        Cv2.Resize(frame, half, new Size(frame.Width / 2, frame.Height / 2), 0, 0, InterpolationFlags.Area);
        return half;
    }
}
