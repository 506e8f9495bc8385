using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Util;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Edge.Sources;

/// <summary>
/// Where a stream's frames come from: a video file (through FFmpeg, paced at its own frame rate like a live
/// camera), a V4L2 camera or an RTSP/HTTP URL (through OpenCV's FFmpeg capture), or a queue the WebSocket ingest
/// offers into. Every source emits 8-bit BGR frames the graph then owns.
/// </summary>
public static class FrameSources
{
    /// <param name="paced">emit at the file's frame rate, as a camera would; false reads as fast as the graph pulls (keep-latest drops the rest)</param>
    public static Source<Mat, NotUsed> VideoFile(string path, bool paced = true, double? framesPerSecond = null)
    {
        var info = MediaInfo.Probe(path);
        var frames = Source.UnfoldResource(() => new VideoFileReader(path, info), reader =>
        {
            var frame = new Mat();
            if (reader.Read(frame)) return Option<Mat>.Create(frame);
            frame.Dispose();
            return Option<Mat>.None;
        }, reader => reader.Dispose());
        var fps = framesPerSecond ?? info.FramesPerSecond;
        return paced ? frames.Throttle(1, TimeSpan.FromSeconds(1 / fps), 1, ThrottleMode.Shaping) : frames;
    }

    /// <summary>A camera (an index, or /dev/videoN) or a network stream (rtsp://, http://, https://).</summary>
    /// <exception cref="IOException">the device or URL cannot be opened</exception>
    public static Source<Mat, NotUsed> Capture(string uri) => Source.UnfoldResource(() => Open(uri), capture =>
    {
        var frame = new Mat();
        if (capture.Read(frame) && !frame.Empty()) return Option<Mat>.Create(frame);
        frame.Dispose();
        return Option<Mat>.None;
    }, capture => capture.Dispose());

    /// <summary>A bounded queue to offer frames into (the WebSocket ingest); when full the oldest waiting frame gives way.</summary>
    public static Source<Mat, ISourceQueueWithComplete<Mat>> Queue(int bound = 2) => Source.Queue<Mat>(bound, OverflowStrategy.DropHead);

    /// <summary>Picks the source for <paramref name="uri"/>: a URL or camera through OpenCV, anything else as a video file.</summary>
    public static Source<Mat, NotUsed> For(string uri) =>
        IsCapture(uri) ? Capture(uri) : File.Exists(uri) ? VideoFile(uri) : throw new FileNotFoundException($"{uri}: no such video file, camera or URL");

    public static bool IsCapture(string uri) =>
        int.TryParse(uri, out _) || uri.StartsWith("/dev/video", StringComparison.Ordinal)
        || uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
        || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static VideoCapture Open(string uri)
    {
        var capture = int.TryParse(uri, out var index) ? new VideoCapture(index, VideoCaptureAPIs.V4L2)
            : uri.StartsWith("/dev/video", StringComparison.Ordinal) ? new VideoCapture(uri, VideoCaptureAPIs.V4L2)
            : new VideoCapture(uri, VideoCaptureAPIs.FFMPEG);
        if (!capture.IsOpened())
        {
            capture.Dispose();
            throw new IOException($"{uri}: cannot open the camera or stream (is the device present, the URL reachable?)");
        }
        return capture;
    }
}
