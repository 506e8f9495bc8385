namespace FaceSwap.Inference.Batching;

/// <summary>
/// How a model's dynamic batcher forms batches, as Triton's <c>dynamic_batching</c> does: a batch runs when it is
/// full, or when its oldest request has been held <see cref="MaxQueueDelay"/> while the model was free.
/// </summary>
public sealed record BatchingOptions
{
    /// <summary>The most requests one model run takes.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>How long a request is held, while the model is free, for others to join its batch; zero runs what is queued at once.</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>One request at a time, run as it comes: the executor with batching off.</summary>
    public static BatchingOptions Off => new() { MaxBatch = 1, MaxQueueDelay = TimeSpan.Zero };

    /// <exception cref="ArgumentException">a value out of range, named</exception>
    public BatchingOptions Validated()
    {
        if (MaxBatch is < 1 or > 256) throw new ArgumentException($"max-batch {MaxBatch} is out of range (1 to 256)");
        if (MaxQueueDelay < TimeSpan.Zero || MaxQueueDelay > TimeSpan.FromSeconds(1))
            throw new ArgumentException($"max-queue-delay {MaxQueueDelay.TotalMilliseconds} ms is out of range (0 to 1000 ms)");
        return this;
    }
}
