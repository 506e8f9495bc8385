using System.Diagnostics;

namespace FaceSwap.Cluster.Stages;

/// <summary>A hop's share of a frame's budget, on this node's clock only: what is left after the time since the message arrived.</summary>
public static class StageBudget
{
    public static int Remaining(int budgetMs, long receivedAt) => budgetMs - (int)Stopwatch.GetElapsedTime(receivedAt).TotalMilliseconds;

    public static int ElapsedMs(long since) => (int)Stopwatch.GetElapsedTime(since).TotalMilliseconds;
}
