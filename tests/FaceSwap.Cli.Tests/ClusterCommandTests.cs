using System.Diagnostics;
using System.Text.RegularExpressions;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision.Video;

namespace FaceSwap.Cli.Tests;

/// <summary><c>fsc cluster local</c>: a seed, two workers and an edge as four OS processes, a stream through them, and nothing left running after.</summary>
[Collection("console")]
public sealed class ClusterCommandTests(GovernedInstall install) : IClassFixture<GovernedInstall>
{
    [Fact]
    public void A_local_cluster_of_four_processes_serves_a_stream_and_leaves_no_process_behind()
    {
        var clip = Path.Combine(install.Dir.Path, "clip.mp4");
        using (var still = StillFrames.Astronaut640x480())
        using (var writer = new VideoFileWriter(clip, new MediaInfo(640, 480, 15, "15/1", 30, false, 2), audioFrom: null))
        {
            for (var i = 0; i < 30; i++) writer.Write(still);
            writer.Complete();
        }
        var output = Path.Combine(install.Dir.Path, "local-out.mp4");

        // The nodes inherit the environment: a generous budget, since other test assemblies share the cores with four node
        // processes here, and this test is about processes, not latency.
        Environment.SetEnvironmentVariable("FSC_BUDGET_MS", "3000");
        (int Exit, string Out, string Err) run;
        try
        {
            run = ModelsCommandTests.Fsc("cluster", "local", "--workers", "2", "--stream", clip, "--output", output, "--fps", "15",
                "--logs", Path.Combine(install.Dir.Path, "logs"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSC_BUDGET_MS", null);
        }
        var (exit, stdout, stderr) = run;

        Assert.True(exit == 0, stdout + stderr);
        var pids = Regex.Matches(stdout, @"^(seed|worker-1|worker-2|edge)\s+pid (\d+)\s+akka\.tcp://faceswap@127\.0\.0\.1:\d+", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        Assert.Equal(["edge", "seed", "worker-1", "worker-2"], pids.Keys.Order());
        var served = Regex.Match(stdout, @"(\d+) offered, (\d+) served");
        Assert.True(served.Success, stdout);
        Assert.True(int.Parse(served.Groups[2].Value) > 0, stdout);
        Assert.Contains("stopped 4 processes (0 killed)", stdout);
        Assert.True(File.Exists(output) && File.Exists(output + ".provenance.json"), stdout);
        foreach (var (role, pid) in pids)
            Assert.True(Gone(pid), $"{role} (pid {pid}) is still running");
    }

    private static bool Gone(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
