namespace FaceSwap.Inference.Batching;

/// <summary>The request's deadline passed while it was queued: it was dropped, never run.</summary>
public sealed class BudgetExpiredException(string model, string stream, double lateMs)
    : Exception($"{model}: the request of stream '{stream}' expired {lateMs:0.#} ms before its batch ran, so it was dropped")
{
    public string Model { get; } = model;
    public string Stream { get; } = stream;
}
