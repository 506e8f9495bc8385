namespace FaceSwap.Inference.Models;

/// <summary>A model that must not be loaded: missing, unreadable, or not the file its manifest describes.</summary>
public sealed class ModelStoreException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
