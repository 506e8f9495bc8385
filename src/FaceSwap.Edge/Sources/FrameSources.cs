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
/// camera), or a V4L2 camera or a network stream (through FFmpeg too). The page's frames come through the live
/// edge's socket (FaceSwap.Node's LiveSessions). Every source emits 8-bit BGR frames the graph then owns.
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

    /// <summary>
    /// A V4L2 camera (/dev/videoN, or its index) or a network stream (udp://, srt://, rtmp://, rtsp://, http(s)://),
    /// through one FFmpeg (<see cref="LiveIngest"/>); it paces itself. Frame k is at k / fps from the source's start.
    /// </summary>
    /// <param name="audioPath">where to write the source's audio (raw PCM s16le 48 kHz stereo, sample n at n / 48000 on the frames' timeline), or null to ignore it</param>
    /// <param name="framesPerSecond">the constant rate to emit at; null takes the source's</param>
    /// <exception cref="IOException">the device or URL cannot be opened</exception>
    public static Source<Mat, NotUsed> Capture(string uri, string? audioPath = null, double? framesPerSecond = null) => Source.UnfoldResource(() => Open(uri, audioPath, framesPerSecond), ingest =>
    {
        var frame = new Mat();
        if (ingest.Read(frame)) return Option<Mat>.Create(frame);
        frame.Dispose();
        return Option<Mat>.None;
    }, ingest => ingest.Dispose());

    /// <summary>Picks the source for <paramref name="uri"/>: a URL or a camera as a live capture, anything else as a video file.</summary>
    public static Source<Mat, NotUsed> For(string uri) =>
        IsCapture(uri) ? Capture(uri) : File.Exists(uri) ? VideoFile(uri) : throw new FileNotFoundException($"{uri}: no such video file, camera or URL");

    public static bool IsCapture(string uri) =>
        int.TryParse(uri, out _) || uri.StartsWith("/dev/video", StringComparison.Ordinal)
        || uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
        || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("udp://", StringComparison.OrdinalIgnoreCase)
        || uri.StartsWith("srt://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("rtmp://", StringComparison.OrdinalIgnoreCase);

    private static LiveIngest Open(string uri, string? audioPath, double? framesPerSecond)
    {
        try
        {
            // LiveIngest names the demuxer for cameras and gives network streams a timeout, so a dead URL fails instead of hanging.
            return LiveIngest.Open(uri, new LiveIngestOptions { AudioPath = audioPath, FramesPerSecond = framesPerSecond });
        }
        catch (ImageFileException e)
        {
            throw new IOException($"{uri}: cannot open the camera or stream (is the device present, the URL reachable?): {e.Problem}", e);
        }
    }
}
