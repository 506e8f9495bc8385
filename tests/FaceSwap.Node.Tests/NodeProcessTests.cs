using System.Diagnostics;
using System.Text;
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
        var node = Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll");
        var start = new ProcessStartInfo("dotnet", [node, "run", "--roles", "seed,gpu-worker", "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Its own governance files: the test never touches the repository's.
            Environment =
            {
                ["FSC_CONSENT_DB"] = $"Data Source={Path.Combine(_dir.Path, "consent.db")}",
                ["FSC_AUDIT_DB"] = $"Data Source={Path.Combine(_dir.Path, "audit.db")}",
                ["FSC_IDENTITY_STORE"] = Path.Combine(_dir.Path, "identities"),
            },
        };
        var log = new StringBuilder();
        var up = new TaskCompletionSource();
        using var process = new Process { StartInfo = start };
        void Line(string? line)
        {
            if (line is null) return;
            lock (log) log.AppendLine(line);
            if (line.Contains("up with roles")) up.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await up.Task.WaitAsync(TimeSpan.FromSeconds(90));
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            lock (log) output.WriteLine(log.ToString());
        }
        string text;
        lock (log) text = log.ToString();
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Exiting completed", text);
        Assert.Contains("Remoting shut down", text);
    }
}
