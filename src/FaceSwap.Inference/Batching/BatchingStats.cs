namespace FaceSwap.Inference.Batching;

/// <param name="Batches">model runs</param>
/// <param name="Requests">requests that reached the model</param>
/// <param name="Expired">requests dropped because their deadline passed in the queue (never run)</param>
/// <param name="Failed">requests whose batch threw</param>
/// <param name="BatchSizes">how many batches had each size: index = size</param>
/// <param name="MaxHeldMs">the longest a request was held for batching while the model was free (the max queue delay, plus however late the thread woke)</param>
/// <param name="HeldLate">requests held more than a millisecond past the max queue delay: the batcher's thread woke late</param>
/// <param name="MaxWaitedMs">the longest a request waited from submission to its run, a busy model included</param>
/// <param name="MeanWaitedMs">the mean of that wait over the requests run</param>
/// <param name="Queued">requests waiting now</param>
/// <param name="RunMs">the time the runs of each size took in all, in ms (index = size): a batch's cost against its size</param>
public sealed record BatchingStats(string Model, long Batches, long Requests, long Expired, long Failed, long[] BatchSizes,
    double MaxHeldMs, long HeldLate, double MaxWaitedMs, double MeanWaitedMs, int Queued = 0, double[]? RunMs = null)
{
    public double MeanBatch => Batches == 0 ? 0 : (double)Requests / Batches;

    /// <summary>The mean time of one successful run of <paramref name="size"/> requests in ms; NaN when none ran.</summary>
    public double MeanRunMs(int size) => RunMs is { } run && size < run.Length && size < BatchSizes.Length && BatchSizes[size] > 0 ? run[size] / BatchSizes[size] : double.NaN;

    public override string ToString() =>
        $"{Model}: {Batches} batches, {Requests} requests (mean batch {MeanBatch:0.00}), {Expired} expired, {Failed} failed, " +
        $"held ≤ {MaxHeldMs:0.0} ms ({HeldLate} past the delay), waited mean {MeanWaitedMs:0.0} / max {MaxWaitedMs:0.0} ms";
}
