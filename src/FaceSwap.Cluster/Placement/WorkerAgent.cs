using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// A gpu-worker's side of placement: reports what it can hold and holds to the coordinator, loads what the plan
/// puts here and unloads what it moved away (after a grace, so the shards using it leave first).
/// </summary>
public sealed class WorkerAgent : ReceiveActor, IWithTimers
{
    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record UnloadDue(string Model, long PlanVersion);

    private readonly IModelHost _models;
    private readonly IActorRef _coordinator;
    private readonly WorkerAgentOptions _options;
    private readonly string _node;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _served;
    private long _servedAt = Stopwatch.GetTimestamp();

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="coordinator">the coordinator singleton's proxy</param>
    /// <remarks>Loading blocks for as long as the model takes: the agent runs on the stage dispatcher, off the cluster's threads.</remarks>
    public static Props Props(IModelHost models, IActorRef coordinator, WorkerAgentOptions options) =>
        Akka.Actor.Props.Create(() => new WorkerAgent(models, coordinator, options)).WithDispatcher(WorkerModels.Dispatcher);

    public WorkerAgent(IModelHost models, IActorRef coordinator, WorkerAgentOptions options)
    {
        _models = models;
        _coordinator = coordinator;
        _options = options.Validated();
        _node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Receive<LoadModel>(Load);
        Receive<UnloadModel>(Unload);
        Receive<UnloadDue>(due =>
        {
            // The coordinator sends no load for a model still loaded: a plan that put it back here within the grace
            // shows only in this node's copy of the plan.
            var plan = PlacementView.For(Context.System).Plan;
            if (plan.Version > due.PlanVersion && plan.ModelsOn(_node).Contains(due.Model))
            {
                _log.Info("placement: keeping {0}: plan v{1} put it back here within the grace", due.Model, plan.Version);
                return;
            }
            _models.Unload(due.Model);
            _log.Info("placement: unloaded {0} (plan v{1})", due.Model, due.PlanVersion);
            Report();
        });
        Receive<Tick>(_ => Report());
    }

    protected override void PreStart()
    {
        Report();
        Timers.StartPeriodicTimer("report", Tick.Instance, _options.ReportInterval);
    }

    private void Load(LoadModel load)
    {
        Timers.Cancel(UnloadTimer(load.Model)); // placed here again before the grace ran out: keep it
        if (_models.LoadedModels().Contains(load.Model)) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _models.Load(load.Model);
            _log.Info("placement: loaded {0} in {1:F0} ms (plan v{2})", load.Model, Stopwatch.GetElapsedTime(started).TotalMilliseconds, load.PlanVersion);
        }
        catch (Exception e)
        {
            _log.Error(e, "placement: loading {0} (plan v{1}) failed; the coordinator places it elsewhere", load.Model, load.PlanVersion);
            _coordinator.Tell(new ModelLoadFailed(_node, load.Model, $"{e.GetType().Name}: {e.Message}"));
        }
        Report();
    }

    private void Unload(UnloadModel unload)
    {
        if (!_models.LoadedModels().Contains(unload.Model) || Timers.IsTimerActive(UnloadTimer(unload.Model))) return;
        _log.Info("placement: {0} moves off this worker (plan v{1}); unloading in {2:F0} s", unload.Model, unload.PlanVersion, _options.UnloadGrace.TotalSeconds);
        Timers.StartSingleTimer(UnloadTimer(unload.Model), new UnloadDue(unload.Model, unload.PlanVersion), _options.UnloadGrace);
    }

    private static string UnloadTimer(string model) => $"unload:{model}";

    private void Report()
    {
        var offers = _models.Offers();
        var loaded = _models.LoadedModels();
        var (total, free) = Memory(offers.Where(o => loaded.Contains(o.Model)).Sum(o => o.Bytes));
        _coordinator.Tell(new WorkerReport(_node, _models.Provider, total, free, [.. offers], [.. loaded], _options.CapacityFps, ServedFps()));
    }

    /// <summary>Frames swapped per second since the last report (FaceMesh requests: one per face region).</summary>
    private double ServedFps()
    {
        var served = _models.Served;
        var now = Stopwatch.GetTimestamp();
        var seconds = Stopwatch.GetElapsedTime(_servedAt, now).TotalSeconds;
        var fps = seconds > 0 && served >= _served ? (served - _served) / seconds : 0;
        (_served, _servedAt) = (served, now);
        return fps;
    }

    /// <summary>The declared device memory (config, else the device's own) less what is loaded, or the host's total and available memory.</summary>
    private (long Total, long Free) Memory(long loadedBytes)
    {
        var device = _options.MemoryBytes > 0 ? _options.MemoryBytes : _models.DeviceMemoryBytes;
        if (device > 0) return (device, Math.Max(0, device - loadedBytes));
        var total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return (total, HostAvailableBytes() ?? total);
    }

    private static long? HostAvailableBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return null; // not Linux: the GC's figure stands in
        }
    }
}
