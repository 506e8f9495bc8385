using System.Diagnostics;
using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>
/// One captured frame on its way through the edge: the full-resolution image the edge keeps (only regions and a
/// downscaled copy leave the node), its sequence number, and its latency budget, counted on this node's clock.
/// Exactly one path settles it (served, dropped, or emitted by the fail mode): <see cref="TrySettle"/> decides which.
/// </summary>
public sealed class StreamFrame(long seq, Mat image, int budgetMs) : IDisposable
{
    private readonly Lock _lock = new();
    private bool _settled;

    public long Seq { get; } = seq;
    public Mat Image { get; } = image;
    public int BudgetMs { get; } = budgetMs;
    public long CapturedAt { get; } = Stopwatch.GetTimestamp();
    public double AgeMs => Stopwatch.GetElapsedTime(CapturedAt).TotalMilliseconds;
    public int RemainingMs => BudgetMs - (int)Math.Ceiling(AgeMs);

    /// <summary>Claims the frame's outcome; false when another path settled it first.</summary>
    public bool TrySettle()
    {
        lock (_lock)
        {
            if (_settled) return false;
            return _settled = true;
        }
    }

    /// <summary>Claims the frame for the fail mode and copies its pixels under the same lock, so the copy is whole before anyone may dispose the original.</summary>
    public Mat? TrySettleWithCopy()
    {
        lock (_lock)
        {
            if (_settled) return null;
            _settled = true;
            return Image.Clone();
        }
    }

    /// <summary>
    /// Changes the pixels (the composite) under the same lock as <see cref="TrySettleWithCopy"/>, so a fail-mode
    /// copy sees the frame whole, before or after; false (and nothing changed) when the fail mode already took it.
    /// </summary>
    public bool TryChange(Action<Mat> change)
    {
        lock (_lock)
        {
            if (_settled) return false;
            change(Image);
            return true;
        }
    }

    public bool Settled
    {
        get { lock (_lock) return _settled; }
    }

    public void Dispose() => Image.Dispose();
}
