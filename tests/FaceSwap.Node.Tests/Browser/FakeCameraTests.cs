using System.Text;
using FaceSwap.Testing;
using OpenCvSharp;
using Xunit;

namespace FaceSwap.Node.Tests.Browser;

/// <summary>The fake camera's file and its frame barcode: decodable after two JPEG round trips and at other sizes, absent from a plain photo.</summary>
public sealed class FakeCameraTests
{
    private static Mat Photo()
    {
        var astronaut = Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png");
        if (File.Exists(astronaut)) return FaceSwap.Vision.ImageFile.ReadBgr(astronaut);
        var image = new Mat(512, 512, MatType.CV_8UC3, new Scalar(90, 120, 160));
        Cv2.Circle(image, new Point(256, 256), 150, new Scalar(250, 250, 250), -1);
        return image;
    }

    private static Mat JpegRoundTrip(Mat image, int quality = 85)
    {
        Cv2.ImEncode(".jpg", image, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return Cv2.ImDecode(jpeg, ImreadModes.Color);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(0x5A5A)]
    [InlineData(0xFFFF)]
    [InlineData(12345)]
    public void The_barcode_survives_two_jpeg_round_trips_and_scaling(int code)
    {
        using var photo = Photo();
        using var frame = FakeCamera.Compose(photo);
        Assert.Equal(-1, FakeCamera.ReadBarcode(frame));
        FakeCamera.DrawBarcode(frame, code);
        Assert.Equal(code, FakeCamera.ReadBarcode(frame));
        using var once = JpegRoundTrip(frame);
        using var twice = JpegRoundTrip(once, 75);
        Assert.Equal(code, FakeCamera.ReadBarcode(twice));
        using var larger = new Mat();
        Cv2.Resize(twice, larger, new Size(1280, 960));
        Assert.Equal(code, FakeCamera.ReadBarcode(larger));
        using var bgra = twice.CvtColor(ColorConversionCodes.BGR2BGRA);
        Assert.Equal(code, FakeCamera.ReadBarcode(bgra));
    }

    [Fact]
    public void The_y4m_file_has_the_header_chromium_reads_and_one_i420_frame_per_index()
    {
        using var dir = new TestPaths.TempDir();
        using var photo = Photo();
        var path = Path.Combine(dir.Path, "camera.y4m");
        FakeCamera.Write(path, photo, frames: 3);
        var bytes = File.ReadAllBytes(path);
        var header = "YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n";
        Assert.Equal(header, Encoding.ASCII.GetString(bytes, 0, header.Length));
        var frameSize = "FRAME\n".Length + 640 * 480 * 3 / 2;
        Assert.Equal(header.Length + 3 * frameSize, bytes.Length);
        // The third frame's planes back to BGR carry code 2.
        using var yuv = new Mat(480 * 3 / 2, 640, MatType.CV_8UC1);
        System.Runtime.InteropServices.Marshal.Copy(bytes, header.Length + 2 * frameSize + 6, yuv.Data, 640 * 480 * 3 / 2);
        using var bgr = yuv.CvtColor(ColorConversionCodes.YUV2BGR_I420);
        Assert.Equal(2, FakeCamera.ReadBarcode(bgr));
    }
}
