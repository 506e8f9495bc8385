using System.Globalization;

namespace FaceSwap.Cli.LocalCluster;

/// <summary>
/// A real cluster on one machine: a seed, N gpu-workers and an edge, each its own OS process, optionally pinned to
/// their own cores. Started in order (the seed first, since the others join it), stopped in reverse with SIGTERM
/// (each leaves gracefully), and anything still running after the grace period is killed: no process outlives it.
/// </summary>
public sealed class LocalClusterRun(string node, string logs, Action<string> say) : IAsyncDisposable
{
    private readonly List<NodeProcess> _nodes = [];

    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <param name="stream">the edge's stream (a file, camera or URL) with its identity, output and rate; none: the edge waits for streams</param>
    public async Task<NodeProcess> Start(int workers, bool pin, (string Source, string Identity, string Output, double Fps)? stream, TimeSpan readyTimeout)
    {
        Directory.CreateDirectory(logs);
        var processes = workers + 2;
        var cores = Environment.ProcessorCount;
        if (pin && cores < processes)
            say($"not pinned: {cores} cores for {processes} processes");
        int? Core(int i) => pin && cores >= processes ? i : null;

        var seed = Launch("seed", ["--roles", "seed", "--port", "0"], Core(0));
        var seedAddress = await seed.Up.WaitAsync(readyTimeout);
        say($"seed       pid {seed.Pid,-7} {seedAddress}");
        var started = Enumerable.Range(1, workers)
            .Select(i => Launch($"worker-{i}", ["--roles", "gpu-worker", "--port", "0", "--seeds", seedAddress], Core(i))).ToList();
        foreach (var worker in started)
            say($"{worker.Name,-10} pid {worker.Pid,-7} {await worker.Up.WaitAsync(readyTimeout)}");
        string[] edgeArguments = ["--roles", "edge", "--port", "0", "--seeds", seedAddress];
        if (stream is { } s)
            edgeArguments = [.. edgeArguments, "--stream", s.Source, "--identity", s.Identity, "--output", s.Output, "--fps", s.Fps.ToString(CultureInfo.InvariantCulture)];
        var edge = Launch("edge", edgeArguments, Core(workers + 1));
        say($"edge       pid {edge.Pid,-7} {await edge.Up.WaitAsync(readyTimeout)}");
        return edge;
    }

    private NodeProcess Launch(string name, IReadOnlyList<string> arguments, int? core)
    {
        var process = NodeProcess.Start(name, node, ["run", .. arguments], Path.Combine(logs, $"{name}.log"), core);
        _nodes.Add(process);
        return process;
    }

    /// <summary>SIGTERM to every node, newest first; whatever has not exited within <paramref name="grace"/> is killed.</summary>
    public async Task<int> Stop(TimeSpan grace)
    {
        var killed = 0;
        foreach (var process in Enumerable.Reverse(_nodes))
        {
            process.Terminate();
            if (await process.WaitForExit(grace)) continue;
            say($"{process.Name} (pid {process.Pid}) did not exit within {grace.TotalSeconds:0} s: killed");
            process.Dispose();
            killed++;
        }
        say($"stopped {_nodes.Count} processes ({killed} killed); logs in {logs}");
        return killed;
    }

    public async ValueTask DisposeAsync()
    {
        if (_nodes.Any(n => !n.HasExited)) await Stop(TimeSpan.FromSeconds(30));
        foreach (var process in _nodes) process.Dispose();
    }
}
