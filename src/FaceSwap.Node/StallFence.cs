using System.Diagnostics;
using System.Runtime.InteropServices;
using Akka.Configuration;

namespace FaceSwap.Node;

/// <summary>
/// Self-fencing after a freeze. A node process stopped for longer than the cluster takes to down it (SIGSTOP, a
/// throttled or paused VM, the whole runtime stalled) wakes as a member the others have downed but may not have
/// removed yet. Its failure detector then marks every other node unreachable, and its gossip carries those
/// observations to the others, whose split-brain resolver counts them: in the fault campaign one such wake had six
/// of eight nodes downed as "indirectly connected". A thread of its own notices the gap the moment the process runs
/// again and ends it before the cluster daemon gossips, with exit code <see cref="ExitCode"/>; the orchestrator
/// starts it again as a new incarnation, which is what the downed node would have come to anyway.
/// </summary>
public sealed class StallFence : IDisposable
{
    /// <summary>EX_TEMPFAIL: a temporary failure; start it again.</summary>
    public const int ExitCode = 75;

    /// <summary>The setting: <c>auto</c> (the default), <c>off</c>, or a duration.</summary>
    public const string SettingPath = "faceswap.node.stall-fence";

    private readonly TimeSpan _limit;
    private readonly TimeSpan _tick;
    private readonly Action<TimeSpan> _fence;
    private readonly Thread _thread;
    private volatile bool _stopped;

    /// <param name="limit">a gap between two ticks longer than this ends the process</param>
    /// <param name="fence">what ends it (given the gap); <see cref="ExitNow"/> in the node</param>
    public StallFence(TimeSpan limit, Action<TimeSpan> fence, TimeSpan? tick = null)
    {
        if (limit <= TimeSpan.Zero) throw new ArgumentException($"{SettingPath}: {limit} must be positive (or 'off')");
        _limit = limit;
        _tick = tick ?? TimeSpan.FromMilliseconds(100);
        if (_tick >= _limit) throw new ArgumentException($"{SettingPath}: the tick {_tick} must be shorter than the limit {_limit}");
        _fence = fence;
        // Its own thread, not the pool: a queued work item could run after the actor system's threads on waking.
        _thread = new Thread(Watch) { IsBackground = true, Name = "stall-fence", Priority = ThreadPriority.Highest };
        _thread.Start();
    }

    public TimeSpan Limit => _limit;

    /// <summary>
    /// The limit <paramref name="config"/> asks for: null when off; for <c>auto</c>, acceptable-heartbeat-pause plus
    /// the resolver's stable-after, the earliest the others can have downed this node.
    /// </summary>
    public static TimeSpan? LimitFrom(Config config)
    {
        var value = config.GetString(SettingPath, "auto").Trim();
        if (value.Equals("off", StringComparison.OrdinalIgnoreCase)) return null;
        if (value.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause", TimeSpan.FromSeconds(3))
                + config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(20));
        TimeSpan limit;
        try
        {
            limit = config.GetTimeSpan(SettingPath, null, allowInfinite: false);
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or OverflowException)
        {
            throw new ArgumentException($"{SettingPath} = {value}: must be auto, off or a duration ({e.Message})", e);
        }
        return limit > TimeSpan.Zero ? limit : throw new ArgumentException($"{SettingPath} = {value}: must be auto, off or a positive duration");
    }

    private void Watch()
    {
        var clock = Stopwatch.StartNew();
        var last = clock.Elapsed;
        while (!_stopped)
        {
            Thread.Sleep(_tick);
            var now = clock.Elapsed;
            var gap = now - last;
            last = now;
            if (gap > _limit && !_stopped) _fence(gap);
        }
    }

    /// <summary>Says why on stderr (unbuffered; a logger's queue may never be written) and ends the process without running shutdown hooks, which would gossip.</summary>
    public static void ExitNow(TimeSpan frozen, TimeSpan limit)
    {
        Console.Error.WriteLine($"faceswap-node: the process was frozen for {frozen.TotalSeconds:F1} s, longer than the cluster takes to down it " +
            $"({limit.TotalSeconds:F1} s, {SettingPath}); ending it at once (exit code {ExitCode}) so that what it observed while frozen does not reach the cluster");
        Console.Error.Flush();
        try
        {
            Exit(ExitCode);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Console.Error.WriteLine($"faceswap-node: no libc _exit here ({e.Message}); killing the process instead");
            Process.GetCurrentProcess().Kill();
        }
    }

    // _exit(2): ends the process at once, without atexit handlers or .NET's ProcessExit (where Akka would leave the cluster).
    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void Exit(int status);

    public void Dispose() => _stopped = true;
}
