using FaceSwap.Inference.Models;

namespace FaceSwap.Testing;

/// <summary>Where the tests find the repository, the npm packages, the model store and the TF.js reference outputs.</summary>
public static class TestPaths
{
    public static string Root => RepositoryPaths.Root;
    public static string NodeModules => RepositoryPaths.NodeModules;
    public static string HumanModels => Path.Combine(NodeModules, "@vladmandic", "human-models", "models");
    public static string SamplePhotos => RepositoryPaths.SamplePhotos;
    public static string ModelStore => RepositoryPaths.ModelStore;
    public static string Reference =>
        Environment.GetEnvironmentVariable("FSC_REFERENCE_DIR") is { Length: > 0 } dir ? dir : Path.Combine(Root, ".cache", "reference");

    /// <summary>A fresh folder under the system temp folder, removed when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("fsc-test-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
