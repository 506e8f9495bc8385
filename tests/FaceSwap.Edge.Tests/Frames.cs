using System.Collections.Concurrent;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using OpenCvSharp;

namespace FaceSwap.Edge.Tests;

/// <summary>Test frames: a pattern that depends on the frame's index (so any emitted frame can be checked against its input), with no red above 127.</summary>
public static class Frames
{
    public const int Width = 320;
    public const int Height = 240;

    public static Mat Make(long index)
    {
        var data = new byte[Width * Height * 3];
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
            {
                var i = (y * Width + x) * 3;
                data[i] = (byte)((x * 3 + index * 5) & 255);
                data[i + 1] = (byte)((y * 5 + x) & 255);
                data[i + 2] = (byte)((x ^ y) & 127);
            }
        using var view = Mat.FromPixelData(Height, Width, MatType.CV_8UC3, data);
        return view.Clone();
    }

    /// <summary>Frames 0..count-1 at <paramref name="fps"/>, each made as it is pulled.</summary>
    public static Source<Mat, NotUsed> Paced(int count, double fps) =>
        Source.From(Enumerable.Range(0, count))
            .Throttle(1, TimeSpan.FromSeconds(1 / fps), 1, ThrottleMode.Shaping)
            .Select(i => Make(i));

    /// <summary>True when both images have the same size and every byte equal.</summary>
    public static bool Same(Mat a, Mat b)
    {
        if (a.Size() != b.Size() || a.Type() != b.Type()) return false;
        using var diff = new Mat();
        Cv2.Absdiff(a, b, diff);
        using var flat = diff.Reshape(1);
        return Cv2.CountNonZero(flat) == 0;
    }

    /// <summary>The input frame of <paramref name="seq"/> with the whole frame blurred, as the fail mode renders it while no face is known.</summary>
    public static Mat Blurred(long seq, IReadOnlyList<Rect> faces)
    {
        var expected = Make(seq);
        FailModes.Blur(expected, faces);
        return expected;
    }
}

/// <summary>One frame the sink got: its sequence, its fail-mode flag and a copy of its pixels.</summary>
public sealed record Emitted(long Seq, bool FailMode, Mat Image);

/// <summary>The test's sink: keeps a copy of each emitted frame, and frees the frame as the sink must.</summary>
public sealed class Recorder : IDisposable
{
    private readonly ConcurrentQueue<Emitted> _frames = new();

    public Sink<EmittedFrame, Task<Done>> Sink => Akka.Streams.Dsl.Sink.ForEach<EmittedFrame>(frame =>
    {
        using (frame) _frames.Enqueue(new Emitted(frame.Seq, frame.FailMode, frame.Image.Clone()));
    });

    public IReadOnlyList<Emitted> Frames => [.. _frames];

    public void Dispose()
    {
        foreach (var frame in _frames) frame.Image.Dispose();
    }
}
