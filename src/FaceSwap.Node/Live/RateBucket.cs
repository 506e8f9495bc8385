using System.Diagnostics;

namespace FaceSwap.Node.Live;

/// <summary>A token bucket: <paramref name="perSecond"/> tokens a second up to <paramref name="burst"/>; one socket's frame rate limit (one thread).</summary>
public sealed class RateBucket(double perSecond, double burst)
{
    private readonly double _burst = burst;
    private double _tokens = burst;
    private long _at = Stopwatch.GetTimestamp();

    /// <summary>Takes a token; false when none is left (the client is over its rate).</summary>
    public bool Take()
    {
        var now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + Stopwatch.GetElapsedTime(_at, now).TotalSeconds * perSecond);
        _at = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}
