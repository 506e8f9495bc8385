using MessagePack;

namespace FaceSwap.Contracts.Stages;

/// <summary>A stage dropped the frame (its budget was spent in the worker's mailbox): counted at the edge by hop and reason.</summary>
[MessagePackObject]
public sealed record StageDropped([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] string Stage,
    [property: Key(3)] string Reason) : IStreamMessage;

/// <summary>A stage could not process the frame: the error, with what failed and on which input.</summary>
[MessagePackObject]
public sealed record StageFailed([property: Key(0)] string StreamId, [property: Key(1)] long Seq, [property: Key(2)] string Stage,
    [property: Key(3)] string Error) : IStreamMessage;

/// <summary>Edge → every stage entity of the stream: the stream ended; free its state now rather than at passivation.</summary>
[MessagePackObject]
public sealed record StopStream([property: Key(0)] string StreamId) : IStreamMessage;
