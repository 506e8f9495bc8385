namespace FaceSwap.Cluster.Worker;

/// <summary>A stage asked for a model this worker does not hold now: the plan placed it elsewhere, or never here.</summary>
public sealed class ModelNotLoadedException(string model, string message) : InvalidOperationException(message)
{
    public string Model { get; } = model;
}
