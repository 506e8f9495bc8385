using MessagePack;

namespace FaceSwap.Contracts.Placement;

/// <summary>Coordinator → worker: load this model (the plan placed it here).</summary>
[MessagePackObject]
public sealed record LoadModel([property: Key(0)] string Model, [property: Key(1)] long PlanVersion) : IFaceSwapMessage;

/// <summary>Coordinator → worker: free this model (the plan no longer places it here).</summary>
[MessagePackObject]
public sealed record UnloadModel([property: Key(0)] string Model, [property: Key(1)] long PlanVersion) : IFaceSwapMessage;

/// <summary>Worker → coordinator: a load failed; the coordinator marks the worker for this model and places it elsewhere.</summary>
[MessagePackObject]
public sealed record ModelLoadFailed([property: Key(0)] string Node, [property: Key(1)] string Model, [property: Key(2)] string Error) : IFaceSwapMessage;

/// <summary>Operator → coordinator: hold <see cref="Model"/> on these nodes only (an empty list removes the pin).</summary>
[MessagePackObject]
public sealed record PinModel([property: Key(0)] string Model, [property: Key(1)] string[] Nodes) : IFaceSwapMessage;

/// <summary>Operator → coordinator: move every model off <see cref="Node"/> (or, with <see cref="Drain"/> false, let it hold models again).</summary>
[MessagePackObject]
public sealed record DrainNode([property: Key(0)] string Node, [property: Key(1)] bool Drain = true) : IFaceSwapMessage;

/// <summary>Anyone → coordinator: the current plan, answered with the <see cref="PlacementPlan"/>.</summary>
[MessagePackObject]
public sealed record GetPlan([property: Key(0)] bool IncludeReports = false) : IFaceSwapMessage;

/// <summary>Answer to an override: applied (with the new plan's version) or refused with the reason.</summary>
[MessagePackObject]
public sealed record OverrideResult([property: Key(0)] bool Applied, [property: Key(1)] long PlanVersion, [property: Key(2)] string? Reason = null) : IFaceSwapMessage;

/// <summary>Edge → coordinator: may a new stream of this rate start? Answered with <see cref="Admission"/>.</summary>
[MessagePackObject]
public sealed record AdmitStream([property: Key(0)] string StreamId, [property: Key(1)] double FramesPerSecond, [property: Key(2)] string Edge) : IFaceSwapMessage;

/// <summary>Edge → coordinator: the stream ended; its share of capacity is free again.</summary>
[MessagePackObject]
public sealed record ReleaseStream([property: Key(0)] string StreamId) : IFaceSwapMessage;

/// <summary>
/// Coordinator → edge: the stream may start, or is refused with <see cref="Reason"/> (the farm's capacity and what
/// is already admitted, in frames per second).
/// </summary>
[MessagePackObject]
public sealed record Admission([property: Key(0)] string StreamId, [property: Key(1)] bool Admitted, [property: Key(2)] string? Reason,
    [property: Key(3)] double CapacityFps, [property: Key(4)] double AdmittedFps) : IFaceSwapMessage;

/// <summary>The coordinator's books of admitted streams, kept beside the plan so a new coordinator still counts them.</summary>
[MessagePackObject]
public sealed record AdmissionLedger([property: Key(0)] AdmittedStream[] Streams) : IFaceSwapMessage
{
    public static AdmissionLedger Empty { get; } = new([]);
}

/// <summary>A stream the coordinator admitted, at its rate, from its edge (its streams are released when the edge leaves).</summary>
[MessagePackObject]
public sealed record AdmittedStream([property: Key(0)] string StreamId, [property: Key(1)] double FramesPerSecond, [property: Key(2)] string Edge);
