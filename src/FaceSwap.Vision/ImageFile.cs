using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>An image that cannot be used: names the file and the problem.</summary>
public sealed class ImageFileException(string path, string problem) : Exception($"{path}: {problem}")
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}

public static class ImageFile
{
    /// <summary>Default cap on decoded pixels: 40 megapixels (a 7952×5304 photo), far above any camera frame.</summary>
    public const long DefaultMaxPixels = 40_000_000;

    /// <summary>Smaller images cannot hold a face the detector can find (its smallest faces span about 20 px).</summary>
    public const int MinSide = 20;

    /// <summary>How much of the file is read to find the size: JPEG headers with large EXIF blocks need tens of KB.</summary>
    private const int HeaderBytes = 256 * 1024;

    /// <summary>Decodes an image file to 8-bit BGR, after checking from its header that it is no larger than <paramref name="maxPixels"/>.</summary>
    public static Mat ReadBgr(string path, long maxPixels = DefaultMaxPixels)
    {
        if (!File.Exists(path)) throw new ImageFileException(path, "file not found");
        var length = new FileInfo(path).Length;
        if (length == 0) throw new ImageFileException(path, "file is empty (0 bytes)");
        var head = new byte[(int)Math.Min(length, HeaderBytes)];
        using (var stream = File.OpenRead(path))
            stream.ReadExactly(head);
        var header = ImageHeader.Read(head)
            ?? throw new ImageFileException(path, "not a readable image: no JPEG, PNG, BMP or WebP header (or the header is damaged)");
        if (header.Width <= 0 || header.Height <= 0)
            throw new ImageFileException(path, $"{header.Format} header gives an empty size {header.Width}x{header.Height}");
        if (header.Width < MinSide || header.Height < MinSide)
            throw new ImageFileException(path, $"{header.Format} image is {header.Width}x{header.Height}, too small to hold a face (at least {MinSide}x{MinSide})");
        if ((long)header.Width * header.Height > maxPixels)
            throw new ImageFileException(path, $"{header.Format} image is {header.Width}x{header.Height} = {(long)header.Width * header.Height / 1e6:F1} megapixels, over the cap of {maxPixels / 1e6:F1} megapixels; refused before decoding");
        var image = Cv2.ImRead(path, ImreadModes.Color);
        if (image.Empty())
        {
            image.Dispose();
            throw new ImageFileException(path, "not a readable image (OpenCV could not decode it)");
        }
        return image;
    }
}
