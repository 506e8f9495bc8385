using MessagePack;

namespace FaceSwap.Contracts.Placement;

/// <summary>
/// Worker → coordinator, every few seconds and after each load or unload: what the worker can hold and what it
/// holds. Memory is the device's when it has one, else the host's. <see cref="CapacityFps"/> is what the operator
/// declared the worker serves (frames per second, measured with the bench); <see cref="LoadFps"/> is what it served lately.
/// </summary>
[MessagePackObject]
public sealed record WorkerReport(
    [property: Key(0)] string Node,
    [property: Key(1)] string Provider,
    [property: Key(2)] long MemoryTotalBytes,
    [property: Key(3)] long MemoryFreeBytes,
    [property: Key(4)] ModelOffer[] Available,
    [property: Key(5)] string[] Loaded,
    [property: Key(6)] double CapacityFps,
    [property: Key(7)] double LoadFps) : IFaceSwapMessage;

/// <summary>A model this worker's store has, and the memory it takes once loaded (its file size is the estimate).</summary>
[MessagePackObject]
public sealed record ModelOffer([property: Key(0)] string Model, [property: Key(1)] long Bytes);
