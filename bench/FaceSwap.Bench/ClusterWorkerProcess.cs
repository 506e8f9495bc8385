using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap.Identities;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace FaceSwap.Bench;

/// <summary>
/// The cluster campaign's gpu-worker as its own OS process on its own core (<c>cluster --pin</c>): the bench starts
/// itself again as <c>cluster-worker</c>. That child (<see cref="RunChild"/>) hosts the same WorkerModels as the
/// one-process campaign, with the average face the parent saved to an identity folder, prints a ready line once it
/// is Up, and leaves the cluster on "stop" or when its stdin closes (the parent ended, however it ended).
/// </summary>
public sealed class ClusterWorkerProcess : IDisposable
{
    public const string Command = "cluster-worker";
    private const string ReadyPrefix = "ready ";

    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<string>> _asked = new();

    private ClusterWorkerProcess(Process process)
    {
        _process = process;
        // Its log goes on the parent's console, marked: a worker's warning explains a bad run.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line) return;
            if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal)) _ready.TrySetResult(line[ReadyPrefix.Length..]);
            else if (_asked.Keys.FirstOrDefault(k => line.StartsWith(k + " ", StringComparison.Ordinal)) is { } asked && _asked.TryRemove(asked, out var answer))
                answer.TrySetResult(line[(asked.Length + 1)..]);
            else Console.WriteLine($"  [worker {process.Id}] {line}");
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line) Console.Error.WriteLine($"  [worker {process.Id}] {line}");
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"worker process {process.Id} exited with code {process.ExitCode} before it was ready (its output is above)"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    /// <summary>The child's ready line, once it is Up in the cluster: its address and how its threads are pinned.</summary>
    public Task<string> Ready => _ready.Task;

    /// <summary>The child's CPU time so far (user and system, all threads); read it before <see cref="Stop"/>.</summary>
    public TimeSpan Cpu
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <param name="seed">the seed's cluster address</param>
    /// <param name="identities">an identity folder holding the average face (<see cref="IdentityStore"/>)</param>
    /// <param name="core">the core the child pins itself to</param>
    public static ClusterWorkerProcess Start(string seed, string identities, int core) =>
        Start(Command, ["--seed", seed, "--identities", identities, "--core", core.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>The bench again as <paramref name="command"/> <paramref name="arguments"/>: a child that prints a ready line once it is Up.</summary>
    public static ClusterWorkerProcess Start(string command, IReadOnlyList<string> arguments)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("the bench's own executable is unknown (Environment.ProcessPath is null): cannot start the worker process");
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, WorkingDirectory = Environment.CurrentDirectory,
        };
        // Run as 'dotnet FaceSwap.Bench.dll': the host needs the assembly again.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll ? dll : throw new InvalidOperationException("run by dotnet, but the entry assembly's path is unknown: cannot start the worker process"));
        foreach (var argument in arguments.Prepend(command)) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start the worker process {self}");
        return new ClusterWorkerProcess(process);
    }

    /// <summary>Asks the child to leave the cluster and exit.</summary>
    /// <exception cref="InvalidOperationException">it had exited already, or exited with an error</exception>
    /// <exception cref="TimeoutException">it did not exit in time (<see cref="Dispose"/> kills it)</exception>
    public async Task Stop(TimeSpan timeout)
    {
        if (_process.HasExited) throw new InvalidOperationException($"worker process {Pid} had exited with code {_process.ExitCode} before it was stopped");
        await _process.StandardInput.WriteLineAsync("stop");
        _process.StandardInput.Close();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"worker process {Pid} did not exit within {timeout.TotalSeconds:F0} s of 'stop'");
        }
        if (_process.ExitCode != 0) throw new InvalidOperationException($"worker process {Pid} exited with code {_process.ExitCode} (its output is above)");
    }

    /// <summary>Sends <paramref name="command"/> on the child's stdin; its answer is the next line it prints that starts with the command and a space.</summary>
    public async Task<string> Ask(string command, TimeSpan timeout)
    {
        var answer = _asked.GetOrAdd(command, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        try
        {
            return await answer.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            _asked.TryRemove(command, out _);
            throw new TimeoutException($"worker process {Pid} did not answer '{command}' within {timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>SIGKILL: the node dies without leaving, as a crashed machine does.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Kills the child if it is still running: no worker is left behind, whatever happened to the campaign.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Console.Error.WriteLine($"  worker process {Pid} still running: killed");
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    /// <summary>The child's side: <c>cluster-worker --seed ADDRESS --identities DIR --core N</c>.</summary>
    public static int RunChild(string[] args)
    {
        string? seed = null, identities = null;
        int? core = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{Command}: {args[i]} needs a value");
            switch (args[i])
            {
                case "--seed": seed = value; break;
                case "--identities": identities = value; break;
                // Not checked against Environment.ProcessorCount: that counts the cores this process started on (its parent's), not the machine's.
                case "--core" when int.TryParse(value, CultureInfo.InvariantCulture, out var c) && c is >= 0 and < 64: core = c; break;
                case "--core": throw new ArgumentException($"{Command}: core '{value}' is not a core number from 0 to 63");
                default: throw new ArgumentException($"{Command}: unknown argument '{args[i]}' (it takes --seed, --identities and --core; the cluster campaign starts it)");
            }
        }
        if (seed is null || identities is null || core is null) throw new ArgumentException($"{Command} needs --seed, --identities and --core (the cluster campaign starts it)");
        return Host(seed, identities, core.Value).GetAwaiter().GetResult();
    }

    private static async Task<int> Host(string seed, string identities, int core)
    {
        // Pinned first: every thread started from here on (Akka's, ONNX Runtime's) inherits the core.
        var mask = CoreAffinity.Mask([core]);
        CoreAffinity.Pin(mask);
        var (_, loaded) = new IdentityStore(identities).Load(IdentityIds.Average);
        using var face = loaded;
        var store = new ModelStore(RepositoryPaths.ModelStore);
        var settings = NodeSettings.Load();
        // Batching as a worker node has it (faceswap.worker.batching, FSC_MAX_BATCH, FSC_MAX_QUEUE_DELAY): with one stream its queue delay is pure latency.
        using var worker = BenchCluster.Worker(store, new ClusterCostCampaign.FixedSource(face), settings.Batching);
        var (host, system) = await BenchCluster.StartNode(settings, Roles.Worker, seed, worker);
        using var started = host;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{ReadyPrefix}{Akka.Cluster.Cluster.Get(system).SelfAddress} (pid {Environment.ProcessId}, {self.Threads.Count} threads, {CoreAffinity.Strays(mask)} of them off core {core}; " +
            $"batching: max batch {worker.Batching.MaxBatch}, max queue delay {worker.Batching.MaxQueueDelay.TotalMilliseconds:0.##} ms)"));
        while (await Console.In.ReadLineAsync() is { } line && line.Trim() != "stop")
            if (line.Trim().Length > 0) Console.Error.WriteLine($"{Command}: unknown command '{line}' (only 'stop'; closing stdin stops it too)");
        // What the batchers did over the whole run: the held time is latency a lone stream pays.
        foreach (var stats in worker.BatchingStats()) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batching {stats}"));
        await host.StopAsync();
        return 0;
    }
}
