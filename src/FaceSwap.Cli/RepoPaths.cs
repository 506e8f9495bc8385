namespace FaceSwap.Cli;

/// <summary>Default locations, found from the repository root (the folder holding FaceSwapCluster.sln).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string DefaultModelStore =>
        Environment.GetEnvironmentVariable("FSC_MODEL_STORE") is { Length: > 0 } store ? store : Path.Combine(Root, ".cache", "models", "default");

    public static string NodeModules => Path.Combine(Root, "tools", "tfjs", "node_modules");

    private static string FindRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "FaceSwapCluster.sln")))
                    return dir.FullName;
        return Environment.CurrentDirectory;
    }
}
