namespace FaceSwap.Testing;

/// <summary>Where the tests find the repository, the npm packages, the model store and the TF.js reference outputs.</summary>
public static class TestPaths
{
    public static string Root { get; } = FindRoot();
    public static string NodeModules => Path.Combine(Root, "tools", "tfjs", "node_modules");
    public static string HumanModels => Path.Combine(NodeModules, "@vladmandic", "human-models", "models");
    public static string ModelStore => Env("FSC_MODEL_STORE") ?? Path.Combine(Root, ".cache", "models", "default");
    public static string Reference => Env("FSC_REFERENCE_DIR") ?? Path.Combine(Root, ".cache", "reference");

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FaceSwapCluster.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"FaceSwapCluster.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>A fresh folder under the system temp folder, removed when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("fsc-test-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
