using Akka.Configuration;
using FaceSwap.Cluster.Configuration;

namespace FaceSwap.Node.Live;

/// <summary>
/// The <c>faceswap.live</c> section: the edge's page and WebSocket ingest (on the node's HTTP endpoint), and the
/// limits each client is held to.
/// </summary>
/// <param name="Token">the one token accepted; null: the lines of <paramref name="TokenFile"/></param>
/// <param name="MaxFrameBytes">a frame (JPEG) larger than this closes the socket (1009)</param>
/// <param name="MaxFps">the highest rate a stream may declare; a client sending faster than its declared rate allows is closed (1008)</param>
/// <param name="MaxStreams">streams this edge runs at once, of every kind</param>
/// <param name="IdleTimeout">a client that sends no frame this long is gone: its stream ends</param>
/// <param name="StartTimeout">the time a new socket has to send its start message</param>
/// <param name="Recordings">where `streams start --record NAME` writes (a bare name lands here)</param>
public sealed record LiveSettings(bool Enabled, string? Token, string TokenFile, int MaxFrameBytes, double MaxFps, int MaxStreams,
    TimeSpan IdleTimeout, TimeSpan StartTimeout, string Recordings)
{
    /// <summary>A registration photo's upload limit.</summary>
    public const int MaxPhotoBytes = 8 * 1024 * 1024;

    public static LiveSettings From(Config config, string source)
    {
        var settings = new LiveSettings(
            config.GetBoolean("faceswap.live.enabled", true),
            config.GetString("faceswap.live.token", "") is { Length: > 0 } token ? token : null,
            FscSettings.Absolute(config.GetString("faceswap.live.token-file", ".cache/live.token")),
            config.GetInt("faceswap.live.max-frame-bytes", 1024 * 1024),
            config.GetDouble("faceswap.live.max-fps", 60),
            config.GetInt("faceswap.live.max-streams", 16),
            config.GetTimeSpan("faceswap.live.idle-timeout", TimeSpan.FromSeconds(10)),
            config.GetTimeSpan("faceswap.live.start-timeout", TimeSpan.FromSeconds(5)),
            FscSettings.Absolute(config.GetString("faceswap.live.recordings", ".cache/recordings")));
        return settings.Validate(source);
    }

    public LiveSettings Validate(string source)
    {
        if (MaxFrameBytes is < 16 * 1024 or > 16 * 1024 * 1024) throw new ArgumentException($"{source}: faceswap.live.max-frame-bytes {MaxFrameBytes} is not in [16 KiB, 16 MiB]");
        if (!(MaxFps is > 0 and <= Edge.EdgeStreamOptions.MaxFramesPerSecond)) throw new ArgumentException($"{source}: faceswap.live.max-fps {MaxFps} is not in (0, {Edge.EdgeStreamOptions.MaxFramesPerSecond}]");
        if (MaxStreams < 1) throw new ArgumentException($"{source}: faceswap.live.max-streams {MaxStreams} must be at least 1");
        if (IdleTimeout < TimeSpan.FromSeconds(1) || StartTimeout < TimeSpan.FromMilliseconds(100))
            throw new ArgumentException($"{source}: faceswap.live.idle-timeout must be at least 1s and start-timeout at least 100ms");
        return this;
    }
}
