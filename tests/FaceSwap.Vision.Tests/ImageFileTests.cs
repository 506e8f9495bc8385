using System.Buffers.Binary;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Vision.Tests;

public sealed class ImageFileTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string Write(string name, int width, int height)
    {
        var path = Path.Combine(_dir.Path, name);
        using var image = new Mat(height, width, MatType.CV_8UC3, Scalar.All(128));
        Assert.True(Cv2.ImWrite(path, image));
        return path;
    }

    [Theory]
    [InlineData("a.png", "PNG")]
    [InlineData("a.jpg", "JPEG")]
    [InlineData("a.bmp", "BMP")]
    [InlineData("a.webp", "WebP")]
    public void Header_gives_format_and_size_without_decoding(string name, string format)
    {
        var path = Write(name, 321, 123);
        Assert.Equal((format, 321, 123), ImageHeader.Read(File.ReadAllBytes(path)));
    }

    [Fact]
    public void Image_over_the_pixel_cap_is_refused_from_its_header_before_decoding()
    {
        var path = Write("huge.png", 64, 64);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), 10_000); // IHDR now claims 10000×10000
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), 10_000);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(path));
        Assert.Equal(path, error.Path);
        Assert.Contains("10000x10000 = 100.0 megapixels, over the cap of 40.0 megapixels", error.Problem);
        Assert.Contains("over the cap", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(Write("cap.png", 30, 30), maxPixels: 899)).Problem);
        using var fits = ImageFile.ReadBgr(Write("fits.png", 30, 30), maxPixels: 900);
    }

    [Fact]
    public void One_pixel_image_is_refused_as_too_small()
    {
        var error = Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(Write("dot.png", 1, 1)));
        Assert.Contains("PNG image is 1x1, too small to hold a face", error.Problem);
    }

    [Fact]
    public void Missing_empty_and_truncated_files_each_say_what_is_wrong()
    {
        Assert.Contains("file not found", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(Path.Combine(_dir.Path, "none.jpg"))).Problem);
        var empty = Path.Combine(_dir.Path, "empty.jpg");
        File.WriteAllBytes(empty, []);
        Assert.Contains("0 bytes", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(empty)).Problem);
        var cut = Write("cut.png", 64, 64);
        var bytes = File.ReadAllBytes(cut);
        File.WriteAllBytes(cut, bytes[..40]); // header intact, pixel data gone
        Assert.Contains("could not decode", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(cut)).Problem);
    }

    [Fact]
    public void Readable_image_decodes_to_bgr()
    {
        using var image = ImageFile.ReadBgr(Write("ok.png", 40, 30));
        Assert.Equal((40, 30, MatType.CV_8UC3), (image.Width, image.Height, image.Type()));
    }
}
