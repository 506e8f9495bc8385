using System.Diagnostics;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>The node binary itself: SIGTERM makes it leave the cluster through CoordinatedShutdown and exit cleanly.</summary>
public sealed class NodeProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task On_SIGTERM_a_worker_node_leaves_the_cluster_and_exits_zero()
    {
        using var node = NodeProcess.Start(["run", "--roles", "seed,gpu-worker", "--port", "0"], new Dictionary<string, string>
        {
            // Its own governance files: the test never touches the repository's.
            ["FSC_CONSENT_DB"] = $"Data Source={Path.Combine(_dir.Path, "consent.db")}",
            ["FSC_AUDIT_DB"] = $"Data Source={Path.Combine(_dir.Path, "audit.db")}",
            ["FSC_IDENTITY_STORE"] = Path.Combine(_dir.Path, "identities"),
        });
        var process = node.Process;
        try
        {
            await node.Up(TimeSpan.FromSeconds(90));
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            output.WriteLine(node.Log);
        }
        var text = node.Log;
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Exiting completed", text);
        Assert.Contains("Remoting shut down", text);
    }
}
