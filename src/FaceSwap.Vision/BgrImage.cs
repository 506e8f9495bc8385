using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>A view of 8-bit BGR pixels owned elsewhere (a Mat, a decoder buffer): no copy, no allocation.</summary>
public readonly struct BgrImage
{
    public BgrImage(IntPtr data, int width, int height, int stride)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}x{height} is empty");
        if (stride < width * 3) throw new ArgumentException($"stride {stride} is shorter than a row of {width} BGR pixels");
        Data = data;
        Width = width;
        Height = height;
        Stride = stride;
    }

    public IntPtr Data { get; }
    public int Width { get; }
    public int Height { get; }
    public int Stride { get; }

    public static BgrImage Of(Mat mat)
    {
        if (mat.Type() != MatType.CV_8UC3)
            throw new ArgumentException($"expected an 8-bit BGR image, got {mat.Type()}", nameof(mat));
        return new BgrImage(mat.Data, mat.Width, mat.Height, (int)mat.Step());
    }
}
