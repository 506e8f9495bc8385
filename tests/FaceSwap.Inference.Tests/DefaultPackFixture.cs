using System.Diagnostics;
using System.Security.Cryptography;
using FaceSwap.Inference.Models;

namespace FaceSwap.Inference.Tests;

/// <summary>
/// The default pack converted into the model store (reused when up to date) and the TF.js reference outputs,
/// produced by tools/tfjs/reference.mjs in Node and regenerated whenever the script, its inputs or its packages change.
/// </summary>
public sealed class DefaultPackFixture
{
    public ModelStore Store { get; }
    public string ReferenceDir { get; } = TestPaths.Reference;

    public DefaultPackFixture()
    {
        if (!Directory.Exists(TestPaths.HumanModels))
            throw new InvalidOperationException($"npm packages missing at {TestPaths.NodeModules}: run scripts/test.sh (or npm ci --ignore-scripts in tools/tfjs)");
        Store = new ModelStore(TestPaths.ModelStore);
        DefaultPackBuilder.Build(TestPaths.NodeModules, Store);
        EnsureReference();
    }

    private void EnsureReference()
    {
        var tools = Path.Combine(TestPaths.Root, "tools", "tfjs");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in new[] { "reference.mjs", "faces.json", "package-lock.json" })
            hash.AppendData(File.ReadAllBytes(Path.Combine(tools, file)));
        var stamp = Convert.ToHexStringLower(hash.GetHashAndReset());
        var stampFile = Path.Combine(ReferenceDir, "stamp");
        if (File.Exists(stampFile) && File.ReadAllText(stampFile).Trim() == stamp
            && DefaultPack.Models.All(m => File.Exists(Path.Combine(ReferenceDir, m.Name + ".json"))))
            return;

        Directory.CreateDirectory(ReferenceDir);
        var start = new ProcessStartInfo("node", [Path.Combine(tools, "reference.mjs"), "--out", ReferenceDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException("tools/tfjs/reference.mjs ran longer than 10 minutes");
        }
        if (node.ExitCode != 0)
            throw new InvalidOperationException($"tools/tfjs/reference.mjs failed with exit code {node.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        File.WriteAllText(stampFile, stamp);
    }
}
