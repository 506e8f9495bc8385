using System.CommandLine;
using System.Runtime.InteropServices;
using FaceSwap.Cli.LocalCluster;
using FaceSwap.Inference.Models;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc cluster local</c>: a real multi-process cluster on this machine.</summary>
public static class ClusterCommand
{
    public static Command Create()
    {
        var workers = new Option<int>("--workers") { Description = "gpu-worker processes.", DefaultValueFactory = _ => 1 };
        var pin = new Option<bool>("--pin") { Description = "Give each process its own core (taskset), where the machine has enough." };
        var stream = new Option<string?>("--stream") { Description = "A video file, camera or rtsp/http URL the edge swaps; then the cluster stops when the stream ends." };
        var identity = new Option<string>("--identity") { Description = "Source identity for --stream (consent for streams needed).", DefaultValueFactory = _ => "average" };
        var output = new Option<string>("--output", "-o") { Description = "Output video for --stream.", DefaultValueFactory = _ => "out.mp4" };
        var fps = new Option<double>("--fps") { Description = "The stream's rate.", DefaultValueFactory = _ => 30 };
        var logs = new Option<string>("--logs") { Description = "Folder for each node's log.", DefaultValueFactory = _ => Path.Combine(RepositoryPaths.Root, ".cache", "cluster-local") };
        var local = new Command("local", "Start a seed, N gpu-workers and an edge, each its own process, on loopback; with --stream, swap it and stop; otherwise run until Ctrl+C.")
            { workers, pin, stream, identity, output, fps, logs };
        local.SetAction(async (parse, cancel) => await CliErrors.RunAsync(() => Local(parse.GetValue(workers), parse.GetValue(pin), parse.GetValue(stream),
            parse.GetValue(identity)!, parse.GetValue(output)!, parse.GetValue(fps), parse.GetValue(logs)!, cancel)));
        return new Command("cluster", "Run the cluster locally.") { local };
    }

    private static async Task<int> Local(int workers, bool pin, string? stream, string identity, string output, double fps, string logs, CancellationToken cancel)
    {
        if (workers is < 1 or > 64) throw new ArgumentException($"--workers {workers} is not in [1, 64]");
        if (stream is not null && !FaceSwap.Edge.Sources.FrameSources.IsCapture(stream) && !File.Exists(stream))
            throw new FileNotFoundException($"{stream}: no such video file, camera or URL");
        var node = Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll");
        if (!File.Exists(node)) throw new FileNotFoundException($"{node}: the node binary is missing; build the solution (scripts/setup.sh)");
        await using var cluster = new LocalClusterRun(node, Path.GetFullPath(logs), Console.WriteLine);
        var edge = await cluster.Start(workers, pin, stream is null ? null : (stream, identity, Path.GetFullPath(output), fps), TimeSpan.FromMinutes(2));
        if (stream is not null)
        {
            await edge.WaitForExit(Timeout.InfiniteTimeSpan).WaitAsync(cancel);
            foreach (var line in edge.Report) Console.WriteLine(line);
            var failed = edge.ExitCode != 0;
            if (failed) Console.Error.WriteLine($"fsc: the edge exited with code {edge.ExitCode}; see {edge.LogPath}");
            await cluster.Stop(TimeSpan.FromSeconds(30));
            return failed ? 1 : 0;
        }
        Console.WriteLine("cluster up; Ctrl+C (or SIGTERM) stops it");
        var stop = new TaskCompletionSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await Task.WhenAny(stop.Task, Task.Delay(Timeout.Infinite, cancel));
        await cluster.Stop(TimeSpan.FromSeconds(30));
        return 0;
    }
}
