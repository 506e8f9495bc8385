namespace FaceSwap.Inference.Models;

/// <summary>
/// Where a checkout keeps the default pack's inputs and outputs: the repository root is the folder holding
/// FaceSwapCluster.sln, found above the working folder or the binary. $FSC_MODEL_STORE overrides the store.
/// </summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string ModelStore =>
        Environment.GetEnvironmentVariable("FSC_MODEL_STORE") is { Length: > 0 } store ? store : Path.Combine(Root, ".cache", "models", "default");

    /// <summary>The pinned npm packages (tools/tfjs/package.json): the pack's source models and the sample photos.</summary>
    public static string NodeModules => Path.Combine(Root, "tools", "tfjs", "node_modules");

    public static string SamplePhotos => Path.Combine(NodeModules, "@vladmandic", "face-api", "demo");

    private static string FindRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "FaceSwapCluster.sln")))
                    return dir.FullName;
        return Environment.CurrentDirectory; // an installed binary: the store comes from $FSC_MODEL_STORE
    }
}
