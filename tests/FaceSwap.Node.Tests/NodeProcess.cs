using System.Diagnostics;
using System.Text;

namespace FaceSwap.Node.Tests;

/// <summary>The faceswap-node binary as its own OS process, its output kept for the test's log; killed on dispose if still running.</summary>
public sealed class NodeProcess : IDisposable
{
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>Everything it printed so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts <c>faceswap-node</c> with <paramref name="arguments"/>; <paramref name="environment"/> points it at the test's own governance files.</summary>
    public static NodeProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "faceswap-node.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var node = new NodeProcess(new Process { StartInfo = start });
        node.Process.OutputDataReceived += (_, e) => node.Line(e.Data);
        node.Process.ErrorDataReceived += (_, e) => node.Line(e.Data);
        node.Process.Start();
        node.Process.BeginOutputReadLine();
        node.Process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Completes when the node logs that it is up in the cluster.</summary>
    public Task Up(TimeSpan timeout) => _up.Task.WaitAsync(timeout);

    private void Line(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
        if (line.Contains("up with roles")) _up.TrySetResult();
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}
