using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// The model-placement coordinator, a cluster singleton. Workers report what they can hold; it decides which worker
/// loads which model (<see cref="PlacementPlanner"/>), tells them to load or unload, re-plans on join, leave and
/// failed loads (an unreachable worker keeps its place until it is removed), applies the operator's overrides, and
/// admits streams only while the farm has the capacity for them. Plan and admissions live in DistributedData, written to a majority (and to each node's
/// durable store), so the next coordinator resumes them.
/// </summary>
public sealed class PlacementCoordinator : ReceiveActor, IWithStash, IWithTimers
{
    private sealed class SettleTimeout
    {
        public static readonly SettleTimeout Instance = new();
    }

    /// <summary>How long a resumed coordinator waits for every worker's report before it re-plans with the ones it has.</summary>
    private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(5);

    private sealed record Resumed(PlacementPlan Plan, AdmissionLedger Ledger, bool FromLocalReplica);

    private sealed record Known(WorkerReport Report, IActorRef Agent);

    private readonly PlacementPolicy _policy;
    private readonly TimeSpan _consistencyTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly Dictionary<string, Known> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);
    private PlacementPlan _plan = PlacementPlan.Empty;
    private AdmissionLedger _ledger = AdmissionLedger.Empty;

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    // Until every worker has reported (or SettleWait passed), the resumed plan stands: a plan made from the first
    // report alone would take every model off the workers that have not reported yet.
    private bool _settling = true;

    /// <param name="consistencyTimeout">how long a majority read or write may take before it falls back to this node's replica</param>
    public static Props Props(PlacementPolicy policy, TimeSpan? consistencyTimeout = null) =>
        Akka.Actor.Props.Create(() => new PlacementCoordinator(policy, consistencyTimeout ?? TimeSpan.FromSeconds(3)));

    public PlacementCoordinator(PlacementPolicy policy, TimeSpan consistencyTimeout)
    {
        _policy = policy.Validated();
        _consistencyTimeout = consistencyTimeout;
        Resuming();
    }

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberRemoved), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));
        // What the last coordinator decided, from a majority of the replicas (a lone node has only its own).
        Task.WhenAll(Read(PlacementKeys.Plan), Read(PlacementKeys.Ledger)).ContinueWith(t => t.IsCompletedSuccessfully
            ? new Resumed((PlacementPlan?)t.Result[0].Value ?? PlacementPlan.Empty, (AdmissionLedger?)t.Result[1].Value ?? AdmissionLedger.Empty, t.Result.Any(r => r.Local))
            : (object)new Status.Failure(t.Exception!.GetBaseException())).PipeTo(Self);
    }

    /// <summary>
    /// Reads a register from a majority, asking again while one does not answer (a member that is leaving, as the
    /// last coordinator's node does, still counts until it is removed), and only then from this node's replica:
    /// gossip has brought it the last plan or one close to it, far better than an empty plan that unloads every model.
    /// </summary>
    private async Task<(object? Value, bool Local)> Read<T>(LWWRegisterKey<T> key) where T : class
    {
        var wait = _consistencyTimeout + TimeSpan.FromSeconds(1);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var response = await _replicator.Ask<IGetResponse>(Dsl.Get(key, new ReadMajority(_consistencyTimeout)), wait);
            if (response is not GetFailure) return (Value(response, key), false);
        }
        return (Value(await _replicator.Ask<IGetResponse>(Dsl.Get(key, ReadLocal.Instance), wait), key), true);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private static T? Value<T>(IGetResponse response, LWWRegisterKey<T> key) where T : class =>
        response is GetSuccess success ? success.Get(key).Value : null;

    /// <summary>Until the last plan is read, everything waits: a plan made from nothing would unload every model.</summary>
    private void Resuming()
    {
        Receive<Resumed>(resumed =>
        {
            _plan = resumed.Plan;
            _ledger = resumed.Ledger;
            if (resumed.FromLocalReplica)
                _log.Warning("placement: no majority of replicas answered within 3 reads of {0} s; resuming from this node's replica", _consistencyTimeout.TotalSeconds);
            _log.Info("placement: coordinator resumed plan {0}, {1} admitted stream(s)", PlacementView.Describe(_plan), _ledger.Streams.Length);
            PlacementView.For(Context.System).Update(_plan);
            Become(Active);
            Timers.StartSingleTimer("settle", SettleTimeout.Instance, SettleWait);
            Settle(null);
            Stash.UnstashAll();
        });
        Receive<Status.Failure>(failure =>
        {
            // The replicator itself did not answer: nothing sensible to resume from, and retrying is what a restart does.
            throw new InvalidOperationException("placement: the coordinator could not read the last plan", failure.Cause);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Active()
    {
        Receive<SettleTimeout>(_ => Settle($"not every worker reported within {SettleWait.TotalSeconds:0} s"));
        Receive<WorkerReport>(report =>
        {
            var joined = !_workers.ContainsKey(report.Node);
            _workers[report.Node] = new Known(report, Sender);
            if (joined) _log.Info("placement: worker {0} reports ({1}, {2} MiB free, holds [{3}])", report.Node, report.Provider, report.MemoryFreeBytes >> 20, string.Join(", ", report.Loaded));
            if (_settling)
            {
                Settle(null);
                return;
            }
            Replan(joined ? $"worker {report.Node} joined" : null);
            Reconcile(report.Node);
        });
        Receive<ModelLoadFailed>(failed =>
        {
            _log.Warning("placement: worker {0} could not load {1}: {2}; placing it elsewhere", failed.Node, failed.Model, failed.Error);
            _plan = _plan with
            {
                Version = _plan.Version + 1,
                Failed = [.. _plan.Failed.Where(f => f.Node != failed.Node || f.Model != failed.Model), new FailedLoad(failed.Node, failed.Model, failed.Error)],
            };
            Replan($"{failed.Model} failed to load on {failed.Node}", force: true);
        });
        Receive<PinModel>(pin =>
        {
            var pins = _plan.Pins.Where(p => p.Model != pin.Model);
            _plan = _plan with { Version = _plan.Version + 1, Pins = [.. pin.Nodes.Length > 0 ? pins.Append(new ModelPin(pin.Model, [.. pin.Nodes.Order(StringComparer.Ordinal)])) : pins] };
            Replan(pin.Nodes.Length > 0 ? $"operator pinned {pin.Model} to [{string.Join(", ", pin.Nodes)}]" : $"operator unpinned {pin.Model}", force: true);
            Sender.Tell(new OverrideResult(true, _plan.Version, _plan.Models.FirstOrDefault(m => m.Model == pin.Model)?.Unplaced));
        });
        Receive<DrainNode>(drain =>
        {
            var drained = _plan.Drained.Where(n => n != drain.Node);
            _plan = _plan with { Version = _plan.Version + 1, Drained = [.. (drain.Drain ? drained.Append(drain.Node) : drained).Order(StringComparer.Ordinal)] };
            Replan(drain.Drain ? $"operator drained {drain.Node}" : $"operator undrained {drain.Node}", force: true);
            Sender.Tell(new OverrideResult(true, _plan.Version, _workers.ContainsKey(drain.Node) ? null : $"{drain.Node} is not a worker of this cluster now; the drain holds when it joins"));
        });
        Receive<GetPlan>(_ => Sender.Tell(_plan));
        Receive<AdmitStream>(Admit);
        Receive<ReleaseStream>(release =>
        {
            if (_ledger.Streams.All(s => s.StreamId != release.StreamId)) return;
            _ledger = new AdmissionLedger([.. _ledger.Streams.Where(s => s.StreamId != release.StreamId)]);
            WriteLedger();
        });
        // An unreachable worker keeps its place in the plan until it is downed and removed (seconds later, by the
        // split-brain resolver): taking its models off would make the shard coordinator hand its shards off a node that
        // cannot acknowledge, and they would wait out the hand-off timeout instead of moving at the removal. It gets no
        // orders and counts for no capacity meanwhile.
        Receive<ClusterEvent.UnreachableMember>(e =>
        {
            if (_unreachable.Add(e.Member.Address.ToString()) && _workers.ContainsKey(e.Member.Address.ToString()))
                _log.Info("placement: worker {0} unreachable: it keeps its models in the plan until it is removed or reachable again", e.Member.Address);
        });
        Receive<ClusterEvent.ReachableMember>(e =>
        {
            if (_unreachable.Remove(e.Member.Address.ToString()) && _workers.ContainsKey(e.Member.Address.ToString()))
                Reconcile(e.Member.Address.ToString());
        });
        Receive<ClusterEvent.MemberRemoved>(e =>
        {
            var node = e.Member.Address.ToString();
            _unreachable.Remove(node);
            if (_workers.Remove(node)) Replan($"worker {node} left");
            var released = _ledger.Streams.Where(s => s.Edge == node).ToList();
            if (released.Count == 0) return;
            _log.Info("placement: edge {0} left; releasing its {1} stream(s)", node, released.Count);
            _ledger = new AdmissionLedger([.. _ledger.Streams.Except(released)]);
            WriteLedger();
        });
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateFailure>(failure =>
            _log.Warning("placement: {0} reached fewer replicas than a majority within {1} s ({2}); it spreads by gossip", failure.Key, _consistencyTimeout.TotalSeconds, failure.GetType().Name));
    }

    /// <summary>Ends the settling once every worker member has reported (or <paramref name="timedOut"/> says why not), then plans with what is known.</summary>
    private void Settle(string? timedOut)
    {
        if (!_settling) return;
        var missing = _cluster.State.Members.Where(m => m.Status == MemberStatus.Up && m.HasRole(Roles.Worker))
            .Select(m => m.Address.ToString()).Where(a => !_workers.ContainsKey(a)).ToList();
        if (missing.Count > 0 && timedOut is null) return;
        _settling = false;
        Timers.Cancel("settle");
        if (timedOut is not null) _log.Warning("placement: {0} (missing {1}); planning with the {2} that did", timedOut, string.Join(", ", missing), _workers.Count);
        Replan(_workers.Count == 0 ? null : $"{_workers.Count} worker(s) reported");
        foreach (var node in _workers.Keys) Reconcile(node);
    }

    /// <summary>The reports of the workers that can take orders now.</summary>
    private List<WorkerReport> Live() => [.. _workers.Values.Where(w => !_unreachable.Contains(w.Report.Node)).Select(w => w.Report)];

    /// <param name="why">logged with the new plan; null: re-planned only because a report changed</param>
    /// <param name="force">the plan was changed here already (overrides, failures): write it even if placement stays</param>
    private void Replan(string? why, bool force = false)
    {
        if (_settling && !force) return;
        var before = _plan;
        _plan = PlacementPlanner.Plan(_plan, [.. _workers.Values.Select(w => w.Report)], _policy);
        if (ReferenceEquals(before, _plan) && !force) return;
        _log.Info("placement: {0}plan {1}", why is null ? "" : why + ": ", PlacementView.Describe(_plan));
        PlacementView.For(Context.System).Update(_plan);
        _replicator.Tell(Dsl.Update(PlacementKeys.Plan, new LWWRegister<PlacementPlan>(_cluster.SelfUniqueAddress, PlacementPlan.Empty),
            new WriteMajority(_consistencyTimeout), register => register.WithValue(_cluster.SelfUniqueAddress, _plan)));
        foreach (var node in _workers.Keys) Reconcile(node);
    }

    /// <summary>Tells a worker what to load and unload so that it holds what the plan puts on it, and nothing else.</summary>
    private void Reconcile(string node)
    {
        if (_unreachable.Contains(node) || !_workers.TryGetValue(node, out var known)) return;
        var wanted = _plan.ModelsOn(node).ToHashSet(StringComparer.Ordinal);
        foreach (var model in wanted.Except(known.Report.Loaded).Where(m => !_plan.Failed.Any(f => f.Node == node && f.Model == m)))
            known.Agent.Tell(new LoadModel(model, _plan.Version));
        foreach (var model in known.Report.Loaded.Except(wanted))
            known.Agent.Tell(new UnloadModel(model, _plan.Version));
    }

    private void Admit(AdmitStream request)
    {
        var others = _ledger.Streams.Where(s => s.StreamId != request.StreamId).ToList();
        var admitted = others.Sum(s => s.FramesPerSecond);
        // Capacity is what the workers holding the face-analysis models serve: every stream needs them.
        var serving = Live().Where(r => _plan.NodesOf(WorkerModels.FaceAnalysis).Contains(r.Node) && r.Loaded.Contains(WorkerModels.FaceAnalysis)).ToList();
        var capacity = serving.Sum(r => r.CapacityFps);
        if (!(request.FramesPerSecond > 0) || !double.IsFinite(request.FramesPerSecond))
        {
            Sender.Tell(new Admission(request.StreamId, false, $"stream {request.StreamId} asks {request.FramesPerSecond} fps: a rate must be a positive number", capacity, admitted));
            return;
        }
        if (admitted + request.FramesPerSecond > capacity)
        {
            var reason = serving.Count == 0
                ? $"no worker holds the face-analysis models now ({_workers.Count} worker(s) known): stream {request.StreamId} cannot be served"
                : $"the farm serves {capacity:0.#} fps on {serving.Count} worker(s) and {admitted:0.#} fps are admitted to {others.Count} stream(s): " +
                  $"stream {request.StreamId} asks {request.FramesPerSecond:0.#} fps, {admitted + request.FramesPerSecond - capacity:0.#} fps more than is free";
            _log.Warning("placement: refused {0}: {1}", request.StreamId, reason);
            Sender.Tell(new Admission(request.StreamId, false, reason, capacity, admitted));
            return;
        }
        _ledger = new AdmissionLedger([.. others, new AdmittedStream(request.StreamId, request.FramesPerSecond, request.Edge)]);
        WriteLedger();
        _log.Info("placement: admitted {0} at {1:0.#} fps ({2:0.#} of {3:0.#} fps admitted)", request.StreamId, request.FramesPerSecond, admitted + request.FramesPerSecond, capacity);
        Sender.Tell(new Admission(request.StreamId, true, null, capacity, admitted + request.FramesPerSecond));
    }

    private void WriteLedger() =>
        _replicator.Tell(Dsl.Update(PlacementKeys.Ledger, new LWWRegister<AdmissionLedger>(_cluster.SelfUniqueAddress, AdmissionLedger.Empty),
            new WriteMajority(_consistencyTimeout), register => register.WithValue(_cluster.SelfUniqueAddress, _ledger)));
}
