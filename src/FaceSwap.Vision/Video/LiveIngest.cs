using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using OpenCvSharp;

namespace FaceSwap.Vision.Video;

/// <summary>How <see cref="LiveIngest"/> opens a source.</summary>
public sealed record LiveIngestOptions
{
    /// <summary>The constant rate frames come out at; null takes the source's own rate (as ffmpeg guesses it).</summary>
    public double? FramesPerSecond { get; init; }

    /// <summary>Where to write the source's audio as raw PCM s16le 48 kHz stereo; null ignores the audio.</summary>
    public string? AudioPath { get; init; }

    /// <summary>Scale every frame to this size (both or neither); null keeps the source's size.</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>How long <see cref="LiveIngest.Open"/> waits for the first video frame (a client may start sending late).</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a network source may send nothing before it counts as ended (the read then returns false).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// A live source (udp://, srt://, rtmp://, rtsp://, http(s):// URL, a V4L2 camera /dev/videoN, or a file) read by
/// ONE ffmpeg process: video as bgr24 frames on its stdout at a constant rate, and the audio, when asked for and
/// present, as raw PCM in a file.
/// </summary>
/// <remarks>
/// <para>
/// Timeline: ffmpeg subtracts the input's start time (the earliest first timestamp of its streams) from every
/// packet, so both outputs share one origin, t = 0 at the input's start. The video goes through
/// <c>-fps_mode cfr -r fps</c>, which duplicates or drops frames to fill every slot from t = 0 (a source whose
/// video starts late gets its first frame repeated), so frame k is at k / fps. The audio goes through
/// <c>aresample=async=1:first_pts=0</c>, which pads silence from t = 0 up to the first sample and fills gaps
/// (or drops overlaps) so that the sample count follows the timestamps, so sample n is at n / 48000.
/// Sample n and frame k therefore show the same instant when n / 48000 = k / fps, to within the frame grid: cfr
/// puts each source frame in its nearest slot, so a frame may show up to half a frame (20 ms at 25 fps) off its
/// slot when the source's video does not start on the grid (an AAC stream starts ~21 ms before its video, say).
/// The tests check it with a flash and a beep: over UDP MPEG-TS the beep came 18.6 ms before the flash's slot.
/// </para>
/// <para>
/// There is no separate probe: a UDP or SRT listener cannot be opened twice at once and what is sent before the
/// listener opens is lost, so the size and rate are read from the stream description this one ffmpeg prints on
/// stderr before its first frame. A source with no audio while audio was asked for makes ffmpeg refuse to start
/// (its audio output would be empty); the ingest then starts again without audio, losing only what arrived
/// during the restart, before frame 0.
/// </para>
/// </remarks>
public sealed partial class LiveIngest : IDisposable
{
    public const int AudioSampleRate = 48000;
    public const int AudioChannels = 2;

    private readonly Process _ffmpeg;
    private readonly Stream _pixels;
    private readonly byte[] _buffer;
    private readonly StderrTail _errors;

    private LiveIngest(string uri, Process ffmpeg, StderrTail errors, int width, int height, double fps, string? audioPath)
    {
        Uri = uri;
        _ffmpeg = ffmpeg;
        _errors = errors;
        _pixels = ffmpeg.StandardOutput.BaseStream;
        Width = width;
        Height = height;
        FramesPerSecond = fps;
        AudioPath = audioPath;
        _buffer = new byte[width * height * 3];
    }

    public string Uri { get; }
    public int Width { get; }
    public int Height { get; }
    public double FramesPerSecond { get; }
    public bool HasAudio => AudioPath is not null;

    /// <summary>The PCM file (s16le, 48 kHz, stereo) the audio goes to, null when the source has none or none was asked for.</summary>
    public string? AudioPath { get; }

    public long FramesRead { get; private set; }

    /// <summary>The time of frame <paramref name="index"/> from the source's start (the audio's origin too).</summary>
    public TimeSpan TimeOf(long index) => TimeSpan.FromSeconds(index / FramesPerSecond);

    /// <summary>Starts ffmpeg on <paramref name="uri"/> and waits (up to the open timeout) for its first video frame's description.</summary>
    /// <exception cref="ImageFileException">ffmpeg could not open the source, or nothing came within the timeout; names the URI and says what ffmpeg said</exception>
    public static LiveIngest Open(string uri, LiveIngestOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (options.Width is null != options.Height is null) throw new ArgumentException("give both Width and Height to scale, or neither", nameof(options));
        if (options.Width <= 0 || options.Height <= 0) throw new ArgumentException($"cannot scale to {options.Width}x{options.Height}", nameof(options));
        if (options.FramesPerSecond is { } f && !(f > 0 && f <= 1000)) throw new ArgumentException($"frame rate {f} is not in (0, 1000]", nameof(options));
        var source = SourceFor(uri, options.ReadTimeout);
        if (!source.Live && !File.Exists(source.Input)) throw new ImageFileException(uri, "file not found (and not a device or a udp/srt/rtmp/rtsp/http URL)");

        var deadline = Stopwatch.StartNew();
        var audio = options.AudioPath;
        while (true)
        {
            var arguments = Arguments(source, options, audio);
            var ffmpeg = Ffmpeg.Start("ffmpeg", arguments, redirectInput: false);
            var errors = new StderrTail(ffmpeg.StandardError);
            try
            {
                var left = options.OpenTimeout - deadline.Elapsed;
                if (left > TimeSpan.Zero) Task.WaitAny([errors.Header, errors.Ended], left);
                if (errors.Header.IsCompletedSuccessfully && errors.Header.Result is var h)
                {
                    var fps = options.FramesPerSecond ?? h.FramesPerSecond
                        ?? throw new ImageFileException(uri, $"ffmpeg did not say the stream's frame rate; give LiveIngestOptions.FramesPerSecond: {errors.Text()}");
                    return new LiveIngest(uri, ffmpeg, errors, h.Width, h.Height, fps, audio);
                }
                if (!errors.Ended.IsCompleted)
                {
                    Stop(ffmpeg);
                    throw new ImageFileException(uri, $"no video arrived within {options.OpenTimeout.TotalSeconds:0.#} s (is anything sending to it?): {errors.Text()}");
                }
                ffmpeg.WaitForExit();
                // Asked for audio the source does not have: ffmpeg refuses an output with no stream. Go again without.
                if (audio is not null && errors.Text().Contains("does not contain any stream", StringComparison.Ordinal))
                {
                    ffmpeg.Dispose();
                    audio = null;
                    continue;
                }
                throw new ImageFileException(uri, $"ffmpeg could not open it (exit {ffmpeg.ExitCode}): {errors.Text()}");
            }
            catch
            {
                Stop(ffmpeg);
                ffmpeg.Dispose();
                throw;
            }
        }
    }

    /// <summary>Reads the next frame into <paramref name="frame"/> (made Height × Width, 8-bit BGR); false when the source has ended.</summary>
    /// <exception cref="ImageFileException">ffmpeg failed; its stderr says why</exception>
    public bool Read(Mat frame)
    {
        frame.Create(Height, Width, MatType.CV_8UC3);
        if (!frame.IsContinuous()) throw new ArgumentException("the frame to read into must be continuous (not a region of a larger image)", nameof(frame));
        var read = 0;
        while (read < _buffer.Length)
        {
            var n = _pixels.Read(_buffer, read, _buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        if (read < _buffer.Length)
        {
            _ffmpeg.WaitForExit();
            Task.WaitAny([_errors.Ended], TimeSpan.FromSeconds(5)); // the last of stderr, for the message
            if (_ffmpeg.ExitCode != 0) throw new ImageFileException(Uri, $"ffmpeg failed after {FramesRead} frames (exit {_ffmpeg.ExitCode}): {_errors.Text()}");
            if (read > 0) throw new ImageFileException(Uri, $"the last frame is cut short ({read} of {_buffer.Length} bytes)");
            return false;
        }
        System.Runtime.InteropServices.Marshal.Copy(_buffer, 0, frame.Data, _buffer.Length);
        FramesRead++;
        return true;
    }

    /// <summary>What ffmpeg said last (warnings such as lost packets), for a caller's log.</summary>
    public string Diagnostics => _errors.Text();

    public void Dispose()
    {
        Stop(_ffmpeg);
        _ffmpeg.Dispose();
    }

    private static void Stop(Process ffmpeg)
    {
        try
        {
            if (!ffmpeg.HasExited)
            {
                ffmpeg.Kill();
                ffmpeg.WaitForExit(); // so the audio file is closed before a caller reads or deletes it
            }
        }
        catch (InvalidOperationException)
        {
            // it exited between the check and the kill: nothing left to stop
        }
    }

    /// <summary>What to hand ffmpeg as the input, and whether it is live (a device or a URL) rather than a file.</summary>
    internal sealed record Source(string Input, IReadOnlyList<string> InputArguments, bool Live);

    internal static Source SourceFor(string uri, TimeSpan? readTimeout = null)
    {
        var microseconds = ((long)(readTimeout ?? TimeSpan.FromSeconds(5)).TotalMicroseconds).ToString(CultureInfo.InvariantCulture);
        if (int.TryParse(uri, NumberStyles.None, CultureInfo.InvariantCulture, out var index)) return new($"/dev/video{index}", ["-f", "v4l2"], true);
        if (uri.StartsWith("/dev/video", StringComparison.Ordinal)) return new(uri, ["-f", "v4l2"], true);
        var scheme = uri.IndexOf("://", StringComparison.Ordinal) is var at and > 0 ? uri[..at].ToLowerInvariant() : "";
        return scheme switch
        {
            // A UDP input listens on the port; its own timeout ends a silent source (rw_timeout does not reach its
            // reader thread), and a late reader loses packets instead of failing.
            "udp" => new(WithQuery(uri, ("timeout", microseconds), ("overrun_nonfatal", "1"), ("fifo_size", "50000"), ("buffer_size", "4194304")), [], true),
            "rtsp" or "rtsps" => new(uri, ["-rtsp_transport", "tcp", "-timeout", microseconds], true),
            "srt" or "rtmp" or "rtmps" or "http" or "https" => new(uri, ["-rw_timeout", microseconds], true),
            "" or "file" => new(uri, [], false),
            _ => throw new ArgumentException($"{uri}: not a source LiveIngest reads (udp, srt, rtmp, rtsp, http(s) URL, /dev/videoN or a file)", nameof(uri)),
        };
    }

    /// <summary>The ffmpeg command line (without "ffmpeg") that <see cref="Open"/> starts for <paramref name="uri"/>, for logs and tests.</summary>
    public static IReadOnlyList<string> ArgumentsFor(string uri, LiveIngestOptions options) =>
        Arguments(SourceFor(uri, options.ReadTimeout), options, options.AudioPath);

    private static List<string> Arguments(Source source, LiveIngestOptions options, string? audioPath)
    {
        // Info level (not error) because the stream description on stderr is where the size and rate come from.
        // A live source is probed for half a second, not ffmpeg's default five: those seconds of frames would come out
        // in one burst at the start (a 5 s stall, then all but the newest dropped as stale). Measured over UDP MPEG-TS
        // from `ffmpeg -re`: the first second comes in a burst, then frames arrive in real time.
        string[] probe = source.Live ? ["-analyzeduration", "500000", "-probesize", "500000", "-flags", "low_delay"] : [];
        List<string> arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            .. probe, .. source.InputArguments, "-i", source.Input, "-map", "0:v:0"];
        if (options.Width is { } w && options.Height is { } h) arguments.AddRange(["-vf", $"scale={w}:{h}"]);
        arguments.AddRange(["-fps_mode", "cfr"]);
        if (options.FramesPerSecond is { } fps) arguments.AddRange(["-r", FrameRate.Format(fps)]);
        arguments.AddRange(["-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]);
        if (audioPath is not null)
            arguments.AddRange(["-map", "0:a:0?", "-af", "aresample=async=1:first_pts=0", "-c:a", "pcm_s16le",
                "-ar", AudioSampleRate.ToString(CultureInfo.InvariantCulture), "-ac", AudioChannels.ToString(CultureInfo.InvariantCulture),
                "-flush_packets", "1", "-f", "s16le", "-y", audioPath]);
        return arguments;
    }

    private static string WithQuery(string uri, params (string Key, string Value)[] pairs)
    {
        var q = uri.IndexOf('?');
        var query = q >= 0 ? uri[(q + 1)..] : "";
        var present = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')[0]).ToHashSet(StringComparer.Ordinal);
        var added = string.Join('&', pairs.Where(p => !present.Contains(p.Key)).Select(p => $"{p.Key}={p.Value}"));
        return added.Length == 0 ? uri : uri + (q >= 0 ? (query.Length == 0 || query.EndsWith('&') ? "" : "&") : "?") + added;
    }

    /// <summary>The video output ffmpeg describes before its first frame: the size and rate of the frames on stdout.</summary>
    internal sealed record Header(int Width, int Height, double? FramesPerSecond);

    /// <summary>Reads ffmpeg's stderr as it comes: keeps the last lines for errors and picks out the video output's description.</summary>
    internal sealed partial class StderrTail
    {
        private readonly Queue<string> _lines = new();
        private readonly TaskCompletionSource<Header> _header = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StderrTail(StreamReader stderr) => Ended = Task.Run(() => Pump(stderr));

        /// <summary>Completes when ffmpeg has described its video output; never when it fails first.</summary>
        public Task<Header> Header => _header.Task;

        /// <summary>Completes when stderr closes (ffmpeg has exited or is exiting).</summary>
        public Task Ended { get; }

        public string Text()
        {
            lock (_lines) return string.Join('\n', _lines).Trim();
        }

        private async Task Pump(StreamReader stderr)
        {
            var inVideoOutput = false;
            while (await stderr.ReadLineAsync() is { } line)
            {
                lock (_lines)
                {
                    _lines.Enqueue(line);
                    if (_lines.Count > 40) _lines.Dequeue();
                }
                if (line.StartsWith("Output #", StringComparison.Ordinal)) inVideoOutput = line.StartsWith("Output #0,", StringComparison.Ordinal);
                else if (inVideoOutput && !_header.Task.IsCompleted && line.Contains("Video:", StringComparison.Ordinal) && Parse(line) is { } header)
                    _header.TrySetResult(header);
            }
        }

        internal static Header? Parse(string line)
        {
            // "Stream #0:0: Video: rawvideo (BGR[24] / 0x18524742), bgr24(pc, …), 640x480 [SAR 1:1 DAR 4:3], q=2-31, 184320 kb/s, 25 fps, 25 tbn"
            var size = SizePattern().Match(line);
            if (!size.Success) return null;
            var rate = RatePattern().Match(line);
            double? fps = rate.Success
                ? double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture) * (rate.Groups[2].Success ? 1000 : 1)
                : null;
            return new Header(int.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(size.Groups[2].Value, CultureInfo.InvariantCulture), fps);
        }

        [GeneratedRegex(@", (\d+)x(\d+)[ ,]")]
        private static partial Regex SizePattern();

        [GeneratedRegex(@", (\d+(?:\.\d+)?)(k)? fps")]
        private static partial Regex RatePattern();
    }
}

/// <summary>Frame rates as ffmpeg wants them: the NTSC ones exactly (30000/1001), others as written.</summary>
internal static class FrameRate
{
    public static string Format(double fps)
    {
        foreach (var nominal in new[] { 24, 30, 48, 60, 120 })
            if (Math.Abs(fps - nominal * 1000.0 / 1001) < 0.005) return $"{nominal * 1000}/1001";
        return fps.ToString("0.######", CultureInfo.InvariantCulture);
    }
}
