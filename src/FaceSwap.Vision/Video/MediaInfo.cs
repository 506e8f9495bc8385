using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace FaceSwap.Vision.Video;

/// <summary>What ffprobe says of a media file: video size, frame rate, frame count, and whether it has audio.</summary>
public sealed record MediaInfo(int Width, int Height, double FramesPerSecond, string FrameRate, long Frames, bool HasAudio, double Duration)
{
    public static MediaInfo Probe(string path)
    {
        if (!File.Exists(path)) throw new ImageFileException(path, "file not found");
        return Parse(path, Ffmpeg.Run("ffprobe", ["-v", "error", "-count_packets", "-show_entries",
            "stream=codec_type,width,height,avg_frame_rate,r_frame_rate,nb_read_packets:format=duration", "-of", "json", path], path));
    }

    /// <summary>
    /// A live source (camera, network stream): size and rate from its first packets, nothing counted, since it
    /// has no end. <paramref name="inputArguments"/> go before <c>-i</c> (e.g. <c>-f v4l2</c>).
    /// </summary>
    public static MediaInfo ProbeLive(string uri, IReadOnlyList<string> inputArguments) =>
        Parse(uri, Ffmpeg.Run("ffprobe", ["-v", "error", .. inputArguments, "-show_entries",
            "stream=codec_type,width,height,avg_frame_rate,r_frame_rate", "-of", "json", uri], uri));

    private static MediaInfo Parse(string path, string output)
    {
        using var json = JsonDocument.Parse(output);
        var streams = json.RootElement.GetProperty("streams").EnumerateArray().ToList();
        var video = streams.FirstOrDefault(s => s.GetProperty("codec_type").GetString() == "video");
        if (video.ValueKind == JsonValueKind.Undefined) throw new ImageFileException(path, "no video stream (ffprobe)");
        var rate = video.TryGetProperty("avg_frame_rate", out var avg) && avg.GetString() is { } a && a != "0/0" ? a : video.GetProperty("r_frame_rate").GetString()!;
        var duration = json.RootElement.TryGetProperty("format", out var format) && format.TryGetProperty("duration", out var d)
            ? double.Parse(d.GetString()!, CultureInfo.InvariantCulture) : 0;
        return new MediaInfo(
            video.GetProperty("width").GetInt32(), video.GetProperty("height").GetInt32(),
            ParseRate(rate), rate,
            video.TryGetProperty("nb_read_packets", out var packets) ? long.Parse(packets.GetString()!, CultureInfo.InvariantCulture) : 0,
            streams.Any(s => s.GetProperty("codec_type").GetString() == "audio"),
            duration);
    }

    private static double ParseRate(string rate)
    {
        var parts = rate.Split('/');
        return parts.Length == 2 && double.TryParse(parts[1], CultureInfo.InvariantCulture, out var den) && den > 0
            ? double.Parse(parts[0], CultureInfo.InvariantCulture) / den
            : double.Parse(rate, CultureInfo.InvariantCulture);
    }
}
