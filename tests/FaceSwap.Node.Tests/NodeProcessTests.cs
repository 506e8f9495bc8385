using System.Diagnostics;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>The node binary itself: SIGTERM makes it leave the cluster through CoordinatedShutdown and exit cleanly.</summary>
public sealed class NodeProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // Its own governance files: the test never touches the repository's.
    private Dictionary<string, string> NodeEnvironment(string name, params (string Name, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["FSC_CONSENT_DB"] = $"Data Source={Path.Combine(_dir.Path, name + "-consent.db")}",
            ["FSC_AUDIT_DB"] = $"Data Source={Path.Combine(_dir.Path, name + "-audit.db")}",
            ["FSC_IDENTITY_STORE"] = Path.Combine(_dir.Path, name + "-identities"),
        };
        foreach (var (key, value) in more) environment[key] = value;
        return environment;
    }

    [Fact]
    public async Task On_SIGTERM_a_worker_node_leaves_the_cluster_and_exits_zero()
    {
        using var node = NodeProcess.Start(["run", "--roles", "seed,gpu-worker", "--port", "0"], NodeEnvironment("worker"));
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

    [Fact]
    public async Task A_node_frozen_past_its_stall_fence_ends_itself_the_moment_it_runs_again_and_one_with_the_fence_off_goes_on()
    {
        // Two single-seed clusters: nothing else can down either, so only the fence can end one.
        using var fenced = NodeProcess.Start(["run", "--roles", "seed", "--port", "0"], NodeEnvironment("fenced", ("FSC_STALL_FENCE", "1s")));
        using var unfenced = NodeProcess.Start(["run", "--roles", "seed", "--port", "0"], NodeEnvironment("unfenced", ("FSC_STALL_FENCE", "off")));
        try
        {
            await Task.WhenAll(fenced.Up(TimeSpan.FromSeconds(90)), unfenced.Up(TimeSpan.FromSeconds(90)));
            Assert.Contains("stall fence: a freeze over 1 s ends the process", fenced.Log);
            Assert.Contains("stall fence: off", unfenced.Log);
            await Signal("STOP", fenced.Process, unfenced.Process);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await Signal("CONT", fenced.Process, unfenced.Process);
            await fenced.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            output.WriteLine(fenced.Log);
            output.WriteLine(unfenced.Log);
        }
        Assert.Equal(StallFence.ExitCode, fenced.Process.ExitCode);
        Assert.Contains("the process was frozen for", fenced.Log);
        Assert.DoesNotContain("Exiting completed", fenced.Log); // ended before any shutdown hook could leave or gossip
        Assert.False(unfenced.Process.HasExited, "the node without a fence ended after the freeze");
    }

    [Theory]
    [InlineData("auto", 5000)] // the repository's config: acceptable-heartbeat-pause 2 s + stable-after 3 s
    [InlineData("2500ms", 2500)]
    [InlineData("off", -1)]
    public void The_stall_fence_limit_comes_from_the_cluster_settings_unless_given(string value, int expectedMs)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString($"{StallFence.SettingPath} = {value}").WithFallback(NodeSettings.Load().Config);
        Assert.Equal(expectedMs < 0 ? null : TimeSpan.FromMilliseconds(expectedMs), StallFence.LimitFrom(config));
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("0s")]
    public void A_stall_fence_that_is_not_a_positive_duration_is_refused_with_its_setting(string value)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString($"{StallFence.SettingPath} = {value}");
        var error = Assert.Throws<ArgumentException>(() => StallFence.LimitFrom(config));
        Assert.Contains(StallFence.SettingPath, error.Message);
    }

    private static async Task Signal(string signal, params Process[] processes)
    {
        using var kill = Process.Start("kill", [$"-{signal}", .. processes.Select(p => p.Id.ToString())]);
        await kill.WaitForExitAsync();
    }
}
