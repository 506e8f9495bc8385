using System.Diagnostics;

namespace FaceSwap.Cluster.Stages;

/// <summary>A hop's share of a frame's budget, on this node's clock only: what is left after the time since the message arrived.</summary>
public static class StageBudget
{
    public static int Remaining(int budgetMs, long receivedAt) => budgetMs - (int)Stopwatch.GetElapsedTime(receivedAt).TotalMilliseconds;

    /// <summary>The <see cref="Stopwatch"/> timestamp at which the hop's share runs out: a batcher drops a request still queued then.</summary>
    public static long Deadline(int budgetMs, long receivedAt) => receivedAt + (long)(budgetMs / 1000.0 * Stopwatch.Frequency);

    public static int ElapsedMs(long since) => (int)Stopwatch.GetElapsedTime(since).TotalMilliseconds;
}
