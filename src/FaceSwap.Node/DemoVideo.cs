using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Node;

/// <summary>The demo's input: a 640x480 clip made from the astronaut photo, slowly panning, turning and zooming so the tracker has work to do.</summary>
public static class DemoVideo
{
    public static void Write(string path, double seconds, int framesPerSecond)
    {
        var count = (int)Math.Round(seconds * framesPerSecond);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new VideoFileWriter(path, new MediaInfo(640, 480, framesPerSecond, $"{framesPerSecond}/1", count, false, seconds), audioFrom: null);
        foreach (var frame in Frames(count, framesPerSecond))
            using (frame)
                writer.Write(frame);
        writer.Complete();
    }

    /// <summary>The clip's frames, made on the fly; the caller owns each.</summary>
    public static IEnumerable<Mat> Frames(int count, int framesPerSecond)
    {
        using var still = StillFrames.Astronaut640x480();
        var centre = new Point2f(still.Width / 2f, still.Height / 2f);
        for (var i = 0; i < count; i++)
        {
            var t = i / (double)framesPerSecond;
            using var move = Cv2.GetRotationMatrix2D(centre, 2 * Math.Sin(t * 0.9), 1 + 0.06 * Math.Sin(t * 0.7));
            move.Set(0, 2, move.At<double>(0, 2) + 24 * Math.Sin(t * 1.3));
            move.Set(1, 2, move.At<double>(1, 2) + 12 * Math.Sin(t * 1.1));
            var frame = new Mat();
            Cv2.WarpAffine(still, frame, move, still.Size(), InterpolationFlags.Linear, BorderTypes.Reflect101);
            yield return frame;
        }
    }
}
