using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FaceSwap.Testing;
using FaceSwap.Vision.Video;

namespace FaceSwap.Vision.Tests;

/// <summary>Makes the test clip and measures recordings with ffmpeg.</summary>
public static class LiveMedia
{
    /// <summary>The clip's frame rate.</summary>
    public const double Fps = 25;

    /// <summary>The first white frame: 5.0 s.</summary>
    public const int FlashFrame = 125;

    /// <summary>
    /// 10 s, 640×480, 25 fps, a slow pan over a sample photo; <paramref name="flashFrames"/> frames from frame 125 white;
    /// silence (a faint hum) but a 1 kHz beep 5.0–5.1 s.
    /// </summary>
    /// <param name="photo">the photo panned over (default: sample1.jpg, three faces)</param>
    public static string MakeClip(string folder, int flashFrames = 3, string? photo = null)
    {
        var clip = Path.Combine(folder, "clip.mp4");
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-nostdin", "-y", "-loop", "1", "-framerate", "25", "-i", photo ?? Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"),
            "-f", "lavfi", "-i", @"aevalsrc=exprs='0.02*sin(2*PI*300*t)+if(between(t\,5\,5.1)\,0.6*sin(2*PI*1000*t)\,0)':c=stereo:s=48000:d=10",
            "-filter_complex", $@"[0:v]scale=800:600,setsar=1,crop=640:480:x='min(t*15\,160)':y='min(t*10\,120)',drawbox=enable='between(n\,{FlashFrame}\,{FlashFrame + flashFrames - 1})':c=white:t=fill,format=yuv420p,trim=duration=10[v]",
            "-map", "[v]", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-c:a", "aac", "-t", "10", clip], clip);
        return clip;
    }

    /// <summary>Waits until something has bound the UDP port (read from /proc, so as not to race the listener for it).</summary>
    public static void WaitUntilUdpBound(int port, Task listener, TimeSpan timeout)
    {
        var hex = $":{port:X4} ";
        var clock = Stopwatch.StartNew();
        while (!new[] { "/proc/net/udp", "/proc/net/udp6" }.Where(File.Exists).SelectMany(File.ReadLines).Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)?.EndsWith(hex.Trim(), StringComparison.Ordinal) == true))
        {
            if (listener.IsCompleted) listener.GetAwaiter().GetResult(); // it failed before listening: show why
            if (clock.Elapsed > timeout) throw new TimeoutException($"nothing listens on UDP port {port} after {timeout.TotalSeconds} s");
            Thread.Sleep(20);
        }
    }

    public sealed record Measurement(long Frames, double Duration, double VideoStart, double? AudioStart, long Flash, double ToneOnset, IReadOnlyList<double> Means)
    {
        /// <summary>Beep onset minus flash, in seconds, each on its stream's own start.</summary>
        public double FlashVersusTone => ToneOnset - (VideoStart + Flash / Fps);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Frames} frames, duration {Duration:0.000} s, video start {VideoStart:0.000} s, audio start {AudioStart:0.000} s (offset {(AudioStart - VideoStart) * 1000:+0.0;-0.0} ms), flash at frame {Flash} = {VideoStart + Flash / Fps:0.000} s, beep at {ToneOnset:0.000} s (beep − flash {FlashVersusTone * 1000:+0.0;-0.0} ms)");
    }

    public static Measurement Measure(string path)
    {
        using var probe = JsonDocument.Parse(Ffmpeg.Run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,start_time:format=duration", "-of", "json", path], path));
        var streams = probe.RootElement.GetProperty("streams").EnumerateArray().ToList();
        double? Start(string type) => streams.Where(s => s.GetProperty("codec_type").GetString() == type)
            .Select(s => (double?)double.Parse(s.GetProperty("start_time").GetString()!, CultureInfo.InvariantCulture)).FirstOrDefault();
        var duration = double.Parse(probe.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);

        // Frames shrunk to 32×24 gray: their count, and the first that is nearly all white.
        var gray = Decode(path, ["-map", "0:v:0", "-vf", "scale=32:24", "-pix_fmt", "gray", "-f", "rawvideo"]);
        const int pixels = 32 * 24;
        var means = Enumerable.Range(0, gray.Length / pixels).Select(k => gray.AsSpan(k * pixels, pixels).ToArray().Average(b => b)).ToList();
        var flash = means.FindIndex(m => m > 235);
        var audioStart = Start("audio");
        var onset = audioStart is null ? double.NaN
            : audioStart.Value + ToneOnset(Decode(path, ["-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le"]), channels: 1) / 48000.0;
        return new Measurement(means.Count, duration, Start("video") ?? 0, audioStart, flash, onset, means);
    }

    /// <summary>The first sample louder than half the beep (0.6 of full scale; the hum is 0.02): the beep's onset.</summary>
    public static long ToneOnset(byte[] pcm, int channels)
    {
        for (long i = 0; i + 1 < pcm.Length; i += 2 * channels)
            if (Math.Abs(BitConverter.ToInt16(pcm, (int)i)) > 0.3 * 32768) return i / (2 * channels);
        throw new InvalidOperationException("no beep in the audio");
    }

    private static byte[] Decode(string path, string[] output)
    {
        using var ffmpeg = Ffmpeg.Start("ffmpeg", ["-v", "error", "-nostdin", "-i", path, .. output, "-"], redirectInput: false);
        var errors = ffmpeg.StandardError.ReadToEndAsync();
        using var bytes = new MemoryStream();
        ffmpeg.StandardOutput.BaseStream.CopyTo(bytes);
        ffmpeg.WaitForExit();
        if (ffmpeg.ExitCode != 0) throw new ImageFileException(path, $"ffmpeg could not decode it: {errors.Result}");
        return bytes.ToArray();
    }
}
