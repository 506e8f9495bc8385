using System.Globalization;
using OpenCvSharp;

namespace FaceSwap.Node;

/// <summary>
/// A stream's latency over its life, one dot per emitted frame (capture → sink, ms): blue when swapped, red when
/// the fail mode emitted it, with the budget as a line. What an operator looks at first when a stream misbehaves.
/// </summary>
public static class LatencyChart
{
    public readonly record struct Point(double Seconds, double LatencyMs, bool FailMode);

    public static void Write(string path, IReadOnlyList<Point> points, int budgetMs, string title)
    {
        const int Width = 900, Height = 360, Left = 60, Right = 20, Top = 50, Bottom = 310;
        using var chart = new Mat(Height, Width, MatType.CV_8UC3, Scalar.White);
        var seconds = Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.Seconds));
        var ceiling = budgetMs * 1.1;
        int X(double s) => Left + (int)(s / seconds * (Width - Left - Right));
        int Y(double ms) => Bottom - (int)(Math.Min(ms, ceiling) / ceiling * (Bottom - Top));
        for (var ms = 0; ms <= ceiling; ms += budgetMs >= 100 ? 25 : 10)
        {
            Cv2.Line(chart, new OpenCvSharp.Point(Left, Y(ms)), new OpenCvSharp.Point(Width - Right, Y(ms)), new Scalar(230, 230, 230), 1);
            Cv2.PutText(chart, ms.ToString(CultureInfo.InvariantCulture), new OpenCvSharp.Point(10, Y(ms) + 4), HersheyFonts.HersheySimplex, 0.4, Scalar.Black);
        }
        // Ticks at least 60 px apart, so that "120 s" labels never run into each other.
        var step = new[] { 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600 }.FirstOrDefault(t => t / seconds * (Width - Left - Right) >= 60, 7200);
        for (var s = 0; s <= seconds; s += step)
            Cv2.PutText(chart, $"{s} s", new OpenCvSharp.Point(X(s) - 8, Bottom + 18), HersheyFonts.HersheySimplex, 0.4, Scalar.Black);
        Cv2.Line(chart, new OpenCvSharp.Point(Left, Y(budgetMs)), new OpenCvSharp.Point(Width - Right, Y(budgetMs)), Scalar.Red, 1);
        foreach (var p in points)
            Cv2.Circle(chart, new OpenCvSharp.Point(X(p.Seconds), Y(p.LatencyMs)), 2, p.FailMode ? new Scalar(40, 40, 220) : new Scalar(180, 110, 40), -1);
        // A long title (the fault campaign names every fault) is set smaller rather than cut at the edge.
        var scale = 0.5;
        while (scale > 0.3 && Cv2.GetTextSize(title, HersheyFonts.HersheySimplex, scale, 1, out _).Width > Width - Left - Right) scale -= 0.02;
        Cv2.PutText(chart, title, new OpenCvSharp.Point(Left, 22), HersheyFonts.HersheySimplex, scale, Scalar.Black);
        Cv2.PutText(chart, $"end-to-end latency (ms) per emitted frame; blue swapped, red fail mode; red line: budget {budgetMs} ms",
            new OpenCvSharp.Point(Left, 40), HersheyFonts.HersheySimplex, 0.4, Scalar.Black);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!Cv2.ImWrite(path, chart)) throw new IOException($"{path}: could not write the chart");
    }
}
