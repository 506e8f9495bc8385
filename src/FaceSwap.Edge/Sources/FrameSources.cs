using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Util;
using FaceSwap.Vision;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Edge.Sources;

/// <summary>
/// Where a stream's frames come from: a video file (through FFmpeg, paced at its own frame rate like a live
/// camera), a V4L2 camera or an RTSP/HTTP URL (through FFmpeg too), or a queue the WebSocket ingest
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

    /// <summary>A V4L2 camera (/dev/videoN, or its index) or a network stream (rtsp://, http://, https://), through FFmpeg; it paces itself.</summary>
    /// <exception cref="IOException">the device or URL cannot be opened</exception>
    public static Source<Mat, NotUsed> Capture(string uri) => Source.UnfoldResource(() => Open(uri), reader =>
    {
        var frame = new Mat();
        if (reader.Read(frame)) return Option<Mat>.Create(frame);
        frame.Dispose();
        return Option<Mat>.None;
    }, reader => reader.Dispose());

    /// <summary>A bounded queue to offer frames into (the WebSocket ingest); when full the oldest waiting frame gives way.</summary>
    public static Source<Mat, ISourceQueueWithComplete<Mat>> Queue(int bound = 2) => Source.Queue<Mat>(bound, OverflowStrategy.DropHead);

    /// <summary>Picks the source for <paramref name="uri"/>: a URL or a camera as a live capture, anything else as a video file.</summary>
    public static Source<Mat, NotUsed> For(string uri) =>
        IsCapture(uri) ? Capture(uri) : File.Exists(uri) ? VideoFile(uri) : throw new FileNotFoundException($"{uri}: no such video file, camera or URL");

    public static bool IsCapture(string uri) =>
        int.TryParse(uri, out _) || uri.StartsWith("/dev/video", StringComparison.Ordinal)
        || uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
        || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static VideoFileReader Open(string uri)
    {
        var device = int.TryParse(uri, out var index) ? $"/dev/video{index}" : uri;
        // Cameras need their demuxer named; network streams get a read timeout so a dead URL fails instead of hanging.
        string[] input = device.StartsWith("/dev/video", StringComparison.Ordinal) ? ["-f", "v4l2"]
            : uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) ? ["-rtsp_transport", "tcp", "-timeout", "5000000"]
            : ["-rw_timeout", "5000000"];
        try
        {
            return new VideoFileReader(device, MediaInfo.ProbeLive(device, input), input);
        }
        catch (ImageFileException e)
        {
            throw new IOException($"{uri}: cannot open the camera or stream (is the device present, the URL reachable?): {e.Problem}", e);
        }
    }
}
