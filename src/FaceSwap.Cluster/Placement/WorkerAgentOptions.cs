namespace FaceSwap.Cluster.Placement;

/// <summary>The <c>faceswap.worker.placement</c> section: what a worker tells the coordinator and how it follows it.</summary>
public sealed record WorkerAgentOptions
{
    /// <summary>How often the worker reports (it also reports right after each load or unload).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>An unload waits this long, so the shards using the model move off first (and a quick re-place costs nothing).</summary>
    public TimeSpan UnloadGrace { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The frames per second this worker serves, as the bench measured it on its hardware: admission control adds these up.</summary>
    public double CapacityFps { get; init; } = 60;
    /// <summary>The device memory models may use (bytes); 0: the host's available memory.</summary>
    public long MemoryBytes { get; init; }

    public WorkerAgentOptions Validated()
    {
        if (ReportInterval < TimeSpan.FromMilliseconds(100) || ReportInterval > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"report-interval {ReportInterval.TotalSeconds} s: must be 0.1 s to 60 s");
        if (UnloadGrace < TimeSpan.Zero || UnloadGrace > TimeSpan.FromMinutes(10))
            throw new ArgumentException($"unload-grace {UnloadGrace.TotalSeconds} s: must be 0 to 600 s");
        if (!(CapacityFps > 0) || !double.IsFinite(CapacityFps))
            throw new ArgumentException($"capacity-fps {CapacityFps}: must be a positive number of frames per second");
        if (MemoryBytes < 0) throw new ArgumentException($"memory-bytes {MemoryBytes}: must be 0 (the host's) or more");
        return this;
    }
}
