using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using OpenCvSharp;

namespace FaceSwap.Vision.Video;

/// <summary>
/// Pushes frames live to a URL for OBS or a virtual camera: udp:// or srt:// (H.264 in MPEG-TS), rtsp:// (to an RTSP
/// server, over TCP), rtmp:// (FLV), or a v4l2loopback device /dev/videoN (raw yuv420p).
/// </summary>
/// <remarks>
/// <see cref="Write"/> never waits on ffmpeg: frames go through a queue of two to a writer task, and a frame that
/// finds the queue full is dropped (and counted), so a slow encoder or network costs frames, not the caller's
/// time. Frames are stamped with the wall clock as ffmpeg reads them and re-timed to a constant rate, so the
/// stream plays in real time whatever was dropped. A failed ffmpeg (a bad host, a missing device) surfaces as an
/// <see cref="ImageFileException"/> with its stderr on the next Write or on Complete.
/// </remarks>
public sealed class StreamPush : IDisposable
{
    private readonly System.Diagnostics.Process _ffmpeg;
    private readonly LiveIngest.StderrTail _errors;
    private readonly Channel<byte[]> _queue;
    private readonly Task _writer;
    private readonly int _frameBytes;
    private long _written, _dropped;
    private bool _completed;

    public StreamPush(string url, int width, int height, double fps, int queue = 2)
    {
        Arguments = ArgumentsFor(url, width, height, fps);
        ArgumentOutOfRangeException.ThrowIfLessThan(queue, 1);
        Url = url;
        Width = width;
        Height = height;
        _frameBytes = width * height * 3;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(queue) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
        _ffmpeg = Ffmpeg.Start("ffmpeg", Arguments, redirectInput: true);
        _errors = new LiveIngest.StderrTail(_ffmpeg.StandardError);
        _writer = Task.Run(Pump);
    }

    public string Url { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>The ffmpeg command line (without "ffmpeg").</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Frames handed to ffmpeg.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Frames dropped because ffmpeg was still busy with the ones before.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The ffmpeg arguments that push <paramref name="width"/>×<paramref name="height"/> bgr24 frames at <paramref name="fps"/> to <paramref name="url"/>.</summary>
    /// <exception cref="ArgumentException">a URL this cannot push to</exception>
    public static IReadOnlyList<string> ArgumentsFor(string url, int width, int height, double fps)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0) throw new ArgumentException($"{width}x{height}: the size must be positive and even (yuv420p)");
        if (!(fps > 0 && fps <= 1000)) throw new ArgumentOutOfRangeException(nameof(fps), fps, "the frame rate must be in (0, 1000]");
        var rate = FrameRate.Format(fps);
        var scheme = url.IndexOf("://", StringComparison.Ordinal) is var at and > 0 ? url[..at].ToLowerInvariant() : "";
        string[] output = url.StartsWith("/dev/video", StringComparison.Ordinal)
            // v4l2loopback takes raw frames; readers (browsers, Zoom) expect yuv420p
            ? ["-f", "v4l2", "-pix_fmt", "yuv420p", url]
            : scheme switch
            {
                "udp" => [.. H264(fps), "-f", "mpegts", url.Contains("pkt_size=", StringComparison.Ordinal) ? url : url + (url.Contains('?') ? "&" : "?") + "pkt_size=1316"],
                "srt" => [.. H264(fps), "-f", "mpegts", url],
                "rtsp" or "rtsps" => [.. H264(fps), "-f", "rtsp", "-rtsp_transport", "tcp", url],
                "rtmp" or "rtmps" => [.. H264(fps), "-f", "flv", url],
                _ => throw new ArgumentException($"{url}: cannot push there; give udp://host:port, srt://host:port, rtsp://server/path, rtmp://server/app/key or a v4l2loopback device /dev/videoN", nameof(url)),
            };
        return ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", $"{width}x{height}", "-framerate", rate, "-use_wallclock_as_timestamps", "1", "-i", "pipe:0",
            "-fps_mode", "cfr", "-r", rate, .. output];
    }

    private static string[] H264(double fps)
    {
        var gop = Math.Max(1, (int)Math.Round(fps)).ToString(CultureInfo.InvariantCulture); // a keyframe every second: a viewer joins within one
        return ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"];
    }

    /// <summary>Queues the frame for ffmpeg; false when it was dropped because ffmpeg is behind.</summary>
    /// <exception cref="ImageFileException">ffmpeg has failed; its stderr says why</exception>
    public bool Write(Mat frame)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        ThrowIfFailed();
        if (frame.Type() != MatType.CV_8UC3 || frame.Width != Width || frame.Height != Height)
            throw new ArgumentException($"frame {frame.Width}x{frame.Height} {frame.Type()} does not match the stream's {Width}x{Height} BGR", nameof(frame));
        var buffer = ArrayPool<byte>.Shared.Rent(_frameBytes);
        if (frame.IsContinuous()) System.Runtime.InteropServices.Marshal.Copy(frame.Data, buffer, 0, _frameBytes);
        else using (var copy = frame.Clone()) System.Runtime.InteropServices.Marshal.Copy(copy.Data, buffer, 0, _frameBytes);
        if (_queue.Writer.TryWrite(buffer)) return true;
        ArrayPool<byte>.Shared.Return(buffer);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Sends what is queued, ends the stream and waits for ffmpeg to finish.</summary>
    /// <exception cref="ImageFileException">ffmpeg failed or did not finish within <paramref name="timeout"/> (default 10 s)</exception>
    public void Complete(TimeSpan? timeout = null)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        var wait = timeout ?? TimeSpan.FromSeconds(10);
        _queue.Writer.TryComplete();
        if (!_writer.Wait(wait) || !_ffmpeg.WaitForExit(wait))
            throw new ImageFileException(Url, $"ffmpeg did not finish the stream within {wait.TotalSeconds:0.#} s: {_errors.Text()}");
        Task.WaitAny([_errors.Ended], TimeSpan.FromSeconds(5));
        if (_writer.IsFaulted || _ffmpeg.ExitCode != 0)
            throw new ImageFileException(Url, $"ffmpeg failed (exit {_ffmpeg.ExitCode}) after {Written} frames: {_errors.Text()}");
    }

    public void Dispose()
    {
        _completed = true;
        _queue.Writer.TryComplete();
        try
        {
            if (!_ffmpeg.HasExited)
            {
                _ffmpeg.Kill();
                _ffmpeg.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // it exited between the check and the kill
        }
        // The writer ends once the pipe breaks or the queue drains; its fault, if any, was ffmpeg's and is reported by Write/Complete.
        Task.WaitAny([_writer], TimeSpan.FromSeconds(5));
        _ffmpeg.Dispose();
        while (_queue.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left);
    }

    private void ThrowIfFailed()
    {
        if (!_writer.IsCompleted && !_ffmpeg.HasExited) return;
        _ffmpeg.WaitForExit(5000);
        Task.WaitAny([_errors.Ended], TimeSpan.FromSeconds(5));
        var exit = _ffmpeg.HasExited ? _ffmpeg.ExitCode.ToString(CultureInfo.InvariantCulture) : "still running";
        var cause = _writer.Exception?.GetBaseException().Message;
        throw new ImageFileException(Url, $"ffmpeg stopped pushing (exit {exit}{(cause is null ? "" : $"; {cause}")}): {_errors.Text()}");
    }

    private async Task Pump()
    {
        var pipe = _ffmpeg.StandardInput.BaseStream;
        try
        {
            await foreach (var buffer in _queue.Reader.ReadAllAsync())
            {
                try
                {
                    await pipe.WriteAsync(buffer.AsMemory(0, _frameBytes));
                    await pipe.FlushAsync();
                    Interlocked.Increment(ref _written);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        finally
        {
            pipe.Close(); // the end of input: ffmpeg flushes and exits
        }
    }
}
