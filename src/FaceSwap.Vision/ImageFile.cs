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
    /// <summary>Decodes an image file to 8-bit BGR.</summary>
    public static Mat ReadBgr(string path)
    {
        if (!File.Exists(path)) throw new ImageFileException(path, "file not found");
        if (new FileInfo(path).Length == 0) throw new ImageFileException(path, "file is empty (0 bytes)");
        var image = Cv2.ImRead(path, ImreadModes.Color);
        if (image.Empty())
        {
            image.Dispose();
            throw new ImageFileException(path, "not a readable image (OpenCV could not decode it)");
        }
        return image;
    }
}
