using System.Text;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Node.Tests.Browser;

/// <summary>
/// A fake camera for headless Chromium (<c>--use-file-for-fake-video-capture</c>): a YUV4MPEG2 file (4:2:0, the
/// <c>C420jpeg</c> variant Chromium's file capture accepts) of a still photo, 640×480 at 15 fps, with a frame
/// barcode in every frame so a page can tell which camera frame an output frame came from. Chromium plays the file
/// in a loop, so the codes repeat every <c>frames</c> frames.
/// <para>
/// Barcode layout (the decoder in src/FaceSwap.Node/Live/wwwroot/live.js must match it exactly), in a 640×480
/// reference frame; other sizes scale the reference coordinates by width/640 and height/480:
/// 20 cells of 12×12 px in one row at the top right: cell k spans x ∈ [392 + 12k, 404 + 12k), y ∈ [8, 20), drawn on
/// a white quiet zone x ∈ [388, 636), y ∈ [4, 24). Cells 0 and 19 are black and cells 1 and 18 white (guards);
/// cells 2…17 hold the 16 low bits of the frame index, most significant first, black = 1. Decoding takes each cell's
/// mean luma (0.299 R + 0.587 G + 0.114 B) over its inner 6×6 px (reference x ∈ [cx + 3, cx + 9), y ∈ [11, 17),
/// each reference pixel mapped to floor(x·sx), floor(y·sy)); black = mean of cells 0 and 19, white = mean of cells 1
/// and 18; valid when white − black ≥ 64 and every cell lies at least (white − black)/4 from their midpoint, the
/// guards on their expected sides. The cells are 12 px (1.5 JPEG blocks) with the 6×6 centre read, which survives two
/// JPEG round trips at quality 0.85 and the 4:2:0 chroma of the fake capture.
/// </para>
/// </summary>
public static class FakeCamera
{
    public const int Width = 640, Height = 480, Fps = 15;
    public const int BarcodeX0 = 392, BarcodeY0 = 8, Cell = 12, Cells = 20, Bits = 16;
    private const int Inner0 = 3, Inner1 = 9, MinContrast = 64;

    /// <summary>The photo scaled to cover 640×480 (centre crop), as BGR, without a barcode: what the camera shows.</summary>
    public static Mat Compose(Mat photo)
    {
        var scale = Math.Max((double)Width / photo.Width, (double)Height / photo.Height);
        var w = Math.Max(Width, (int)Math.Ceiling(photo.Width * scale));
        var h = Math.Max(Height, (int)Math.Ceiling(photo.Height * scale));
        using var resized = new Mat();
        Cv2.Resize(photo, resized, new Size(w, h), 0, 0, InterpolationFlags.Area);
        using var roi = new Mat(resized, new Rect((w - Width) / 2, (h - Height) / 2, Width, Height));
        return roi.Clone();
    }

    /// <summary>Draws the barcode of <paramref name="code"/> (16 low bits) onto a 640×480 BGR frame.</summary>
    public static void DrawBarcode(Mat frame, int code)
    {
        var white = Scalar.All(255);
        var black = Scalar.All(0);
        Cv2.Rectangle(frame, new Rect(BarcodeX0 - 4, BarcodeY0 - 4, Cells * Cell + 8, Cell + 8), white, -1);
        for (var k = 0; k < Cells; k++)
        {
            bool isBlack = k switch
            {
                0 or 19 => true,
                1 or 18 => false,
                _ => ((code >> (Bits - 1 - (k - 2))) & 1) == 1,
            };
            if (isBlack) Cv2.Rectangle(frame, new Rect(BarcodeX0 + k * Cell, BarcodeY0, Cell, Cell), black, -1);
        }
    }

    /// <summary>Decodes the barcode from a BGR (or BGRA) image; -1 when there is none (see the layout above).</summary>
    public static int ReadBarcode(Mat image)
    {
        int width = image.Width, height = image.Height;
        if (width < 64 || height < 32) return -1;
        double sx = (double)width / Width, sy = (double)height / Height;
        if (image.Type() != MatType.CV_8UC3 && image.Type() != MatType.CV_8UC4)
            throw new ArgumentException("ReadBarcode expects an 8-bit BGR or BGRA image");
        using var bgr = image.Channels() == 3 ? image.Clone() : image.CvtColor(ColorConversionCodes.BGRA2BGR);
        var values = new double[Cells];
        for (var k = 0; k < Cells; k++)
        {
            var cx = BarcodeX0 + k * Cell;
            double sum = 0; var n = 0;
            for (var ry = BarcodeY0 + Inner0; ry < BarcodeY0 + Inner1; ry++)
            {
                var y = (int)Math.Floor(ry * sy);
                for (var rx = cx + Inner0; rx < cx + Inner1; rx++)
                {
                    var x = (int)Math.Floor(rx * sx);
                    if (x >= width || y >= height) return -1;
                    var p = bgr.At<Vec3b>(y, x);
                    sum += 0.299 * p.Item2 + 0.587 * p.Item1 + 0.114 * p.Item0;
                    n++;
                }
            }
            values[k] = sum / n;
        }
        var blackLevel = (values[0] + values[19]) / 2;
        var whiteLevel = (values[1] + values[18]) / 2;
        var contrast = whiteLevel - blackLevel;
        if (!(contrast >= MinContrast)) return -1;
        var mid = (whiteLevel + blackLevel) / 2;
        var margin = contrast / 4;
        if (values[0] > mid - margin || values[19] > mid - margin) return -1;
        if (values[1] < mid + margin || values[18] < mid + margin) return -1;
        var code = 0;
        for (var bit = 0; bit < Bits; bit++)
        {
            var v = values[2 + bit];
            if (Math.Abs(v - mid) < margin) return -1;
            code = (code << 1) | (v < mid ? 1 : 0);
        }
        return code;
    }

    /// <summary>
    /// Writes <paramref name="frames"/> frames of <paramref name="photo"/> (scaled to cover 640×480, see
    /// <see cref="Compose"/>) with the barcode of each frame's index to a .y4m file at <paramref name="path"/>.
    /// 150 frames (10 s at 15 fps) make a 69 MB file.
    /// </summary>
    public static void Write(string path, Mat photo, int frames = 150)
    {
        using var still = Compose(photo);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        file.Write(Encoding.ASCII.GetBytes($"YUV4MPEG2 W{Width} H{Height} F{Fps}:1 Ip A1:1 C420jpeg\n"));
        var frameHeader = Encoding.ASCII.GetBytes("FRAME\n");
        using var frame = new Mat();
        using var yuv = new Mat();
        var buffer = new byte[Width * Height * 3 / 2];
        for (var i = 0; i < frames; i++)
        {
            still.CopyTo(frame);
            DrawBarcode(frame, i & 0xFFFF);
            Cv2.CvtColor(frame, yuv, ColorConversionCodes.BGR2YUV_I420); // planar Y, then U, then V (4:2:0)
            System.Runtime.InteropServices.Marshal.Copy(yuv.Data, buffer, 0, buffer.Length);
            file.Write(frameHeader);
            file.Write(buffer);
        }
    }

    /// <summary>Writes the fake camera file from an image file (read with <see cref="ImageFile.ReadBgr"/>).</summary>
    public static void Write(string path, string photoPath, int frames = 150)
    {
        using var photo = ImageFile.ReadBgr(photoPath);
        Write(path, photo, frames);
    }
}
