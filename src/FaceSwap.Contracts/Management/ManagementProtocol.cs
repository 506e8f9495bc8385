using MessagePack;

namespace FaceSwap.Contracts.Management;

/// <summary>
/// Management API of any node → the management agent of every node (over remoting): what runs there. The API
/// answers for the whole cluster from one node, as the operator's CLI talks to one node only.
/// </summary>
[MessagePackObject]
public sealed record QueryNode([property: Key(0)] bool Streams, [property: Key(1)] bool Doctor) : IFaceSwapMessage;

/// <summary>One node's answer to <see cref="QueryNode"/>.</summary>
[MessagePackObject]
public sealed record NodeStatus(
    [property: Key(0)] string Node,
    [property: Key(1)] string[] Roles,
    [property: Key(2)] StreamSummary[] Streams,
    [property: Key(3)] DoctorFinding[] Findings) : IFaceSwapMessage;

/// <summary>One check of <c>fsc doctor</c> on a node: ok, off, warn or fail, what was checked, what was found.</summary>
[MessagePackObject]
public sealed record DoctorFinding([property: Key(0)] string Level, [property: Key(1)] string Subject, [property: Key(2)] string Detail);

/// <summary>One live stream on an edge, as <c>fsc streams list|stats</c> shows it.</summary>
/// <param name="RecentFps">emitted frames per second over the last few seconds (swapped and fail mode)</param>
/// <param name="RecentSwappedFps">swapped frames per second over the same seconds</param>
/// <param name="MaxOutputGapMs">the longest time between two emitted frames so far</param>
/// <param name="Drops">dropped frames by "hop/reason"</param>
/// <param name="AnsweredBy">swap answers by worker: where the stream's entities live</param>
[MessagePackObject]
public sealed record StreamSummary(
    [property: Key(0)] string StreamId,
    [property: Key(1)] string Edge,
    [property: Key(2)] string Identity,
    [property: Key(3)] string Source,
    [property: Key(4)] double TargetFps,
    [property: Key(5)] int BudgetMs,
    [property: Key(6)] string FailMode,
    [property: Key(7)] double UptimeSeconds,
    [property: Key(8)] long Offered,
    [property: Key(9)] long Swapped,
    [property: Key(10)] long FailModeFrames,
    [property: Key(11)] long Dropped,
    [property: Key(12)] long InFlight,
    [property: Key(13)] double RecentFps,
    [property: Key(14)] double RecentSwappedFps,
    [property: Key(15)] double MaxOutputGapMs,
    [property: Key(16)] Dictionary<string, long> Drops,
    [property: Key(17)] StageLatency[] Latency,
    [property: Key(18)] Dictionary<string, long> AnsweredBy);

/// <summary>A stage's latency distribution in milliseconds.</summary>
[MessagePackObject]
public sealed record StageLatency([property: Key(0)] string Stage, [property: Key(1)] long Count, [property: Key(2)] double P50,
    [property: Key(3)] double P90, [property: Key(4)] double P99, [property: Key(5)] double Max);
