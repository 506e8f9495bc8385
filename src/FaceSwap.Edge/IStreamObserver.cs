namespace FaceSwap.Edge;

/// <summary>
/// Told of a stream's counts as they happen, summed over streams by whoever listens (the node's Prometheus metrics).
/// Called on the graph's threads: implementations must be thread-safe and cheap.
/// </summary>
public interface IStreamObserver
{
    void Offered();

    void Dropped(string hop, string reason);

    void Emitted(bool failMode);

    /// <param name="stage">one of <see cref="EdgeStages"/></param>
    void Latency(string stage, double milliseconds);
}
