namespace FaceSwap.Contracts;

/// <summary>Cluster role names, one place for every node and test.</summary>
public static class Roles
{
    public const string Seed = "seed";
    public const string Edge = "edge";
    public const string Worker = "gpu-worker";
    public static IReadOnlyList<string> All { get; } = [Seed, Edge, Worker];
}

/// <summary>Shard-region names: one region per stage, hosted on <see cref="Roles.Worker"/>, proxied on edges.</summary>
public static class Regions
{
    public const string Detect = "detect";
    public const string Swap = "swap";
    public const string Enhance = "enhance";
}

/// <summary>Why a frame was dropped, by hop: the counters' labels.</summary>
public static class DropReasons
{
    /// <summary>A newer frame replaced it in the keep-latest buffer.</summary>
    public const string Stale = "stale";
    /// <summary>Its latency budget was spent before the hop could use it.</summary>
    public const string Budget = "budget";
    /// <summary>Its encoded payload exceeded the remote frame size.</summary>
    public const string Oversize = "oversize";
    /// <summary>An older frame than the last one emitted: emitting it would run the stream backwards.</summary>
    public const string Late = "late";
    /// <summary>No answer from the stage within the frame's budget (worker lost, unreachable or overloaded).</summary>
    public const string Timeout = "timeout";
    /// <summary>The stage answered with an error (corrupt payload, unknown identity, consent refused).</summary>
    public const string Failed = "failed";
    /// <summary>The fail mode had already emitted it in its place while the stage was late.</summary>
    public const string Superseded = "superseded";
    /// <summary>The sink stopped the stream while the frame was in flight.</summary>
    public const string Cancelled = "cancelled";
}
