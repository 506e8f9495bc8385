using System.CommandLine;
using System.Text.Json;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cli.Remote;

/// <summary>
/// The operator's palette, after Petabridge.Cmd's (<c>pbm</c>): <c>fsc HOST:PORT cluster show</c> and the rest, each
/// speaking to one node's management API, which answers for the whole cluster. Aligned tables for people,
/// <c>--json</c> for scripts; <c>fsc HOST:PORT</c> alone opens a prompt (<see cref="Prompt"/>).
/// </summary>
public static class RemotePalette
{
    public const string DefaultHost = "127.0.0.1:9110";

    private sealed record Common(Option<string> Host, Option<string?> Token, Option<bool> Json);

    private static Common Options() => new(
        new Option<string>("--host") { Description = "The node's management endpoint, HOST:PORT (env FSC_HOST).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FSC_HOST") is { Length: > 0 } h ? h : DefaultHost },
        new Option<string?>("--token") { Description = "The management API's bearer token (default: FSC_MANAGEMENT_TOKEN, or the local token file)." },
        new Option<bool>("--json") { Description = "Print the answer as JSON, for scripts." });

    /// <summary>Adds the palette's commands to fsc's tree (beside the local ones of the same groups).</summary>
    public static void Attach(RootCommand root)
    {
        Command Group(string name, string description)
        {
            var found = root.Subcommands.FirstOrDefault(c => c.Name == name);
            if (found is not null) return found;
            var created = new Command(name, description);
            root.Subcommands.Add(created);
            return created;
        }

        var cluster = Group("cluster", "Run the cluster locally, or watch and steer a running one.");
        cluster.Subcommands.Add(Show());
        cluster.Subcommands.Add(Member("join", "Ask the node to join the cluster at ADDRESS (akka.tcp://faceswap@HOST:PORT or HOST:PORT).", "cluster/join", optional: false));
        cluster.Subcommands.Add(Member("leave", "Ask a member (default: the node spoken to) to leave gracefully: its shards hand over, its streams move.", "cluster/leave", optional: true));
        cluster.Subcommands.Add(Member("down", "Down a member (it is removed without a handover: for a node that is gone).", "cluster/down", optional: false));
        cluster.Subcommands.Add(Simple("down-unreachable", "Down every member marked unreachable.", "cluster/down-unreachable"));
        cluster.Subcommands.Add(Tail());

        var sharding = Group("cluster-sharding", "Sharding: the regions and where their shards and entities are.");
        sharding.Subcommands.Add(Regions());
        sharding.Subcommands.Add(RegionStats());
        sharding.Subcommands.Add(ShardStats());

        Group("actor", "The node's actors.").Subcommands.Add(Hierarchy());
        Group("log", "The node's log.").Subcommands.Add(Peek());

        var models = Group("models", "Models: the store, and their placement on the cluster's workers.");
        models.Subcommands.Add(Placement());
        models.Subcommands.Add(Override("pin", "Hold MODEL on these nodes only.", "models/pin", nodes: true));
        models.Subcommands.Add(Override("unpin", "Let the planner place MODEL again.", "models/unpin", nodes: false));
        models.Subcommands.Add(Override("load", "Load MODEL on NODE too (pins it to where it is now, plus NODE).", "models/load", nodes: true, single: true));
        models.Subcommands.Add(Override("unload", "Unload MODEL from NODE (pins it to where it is now, minus NODE).", "models/unload", nodes: true, single: true));

        var nodes = Group("nodes", "Worker nodes.");
        nodes.Subcommands.Add(Drain("drain", "Move every model (and so every stream's stages) off NODE.", "nodes/drain"));
        nodes.Subcommands.Add(Drain("undrain", "Let NODE hold models again.", "nodes/undrain"));

        var streams = Group("streams", "The live streams on the cluster's edges.");
        streams.Aliases.Add("stream");
        streams.Subcommands.Add(StreamList());
        streams.Subcommands.Add(StreamStats());
        streams.Subcommands.Add(StreamStart());
        streams.Subcommands.Add(StreamStop());
        streams.Subcommands.Add(StreamSet());
    }

    /// <summary>Gives <paramref name="command"/> the palette's options and runs <paramref name="run"/> against the node, turning failures into a reason and exit code 1.</summary>
    private static Command Remote(Command command, Func<ManagementClient, ParseResult, bool, CancellationToken, Task<int>> run)
    {
        var common = Options();
        command.Options.Add(common.Host);
        command.Options.Add(common.Token);
        command.Options.Add(common.Json);
        command.SetAction(async (parse, cancel) =>
        {
            try
            {
                using var client = new ManagementClient(parse.GetValue(common.Host)!, parse.GetValue(common.Token));
                return await run(client, parse, parse.GetValue(common.Json), cancel);
            }
            catch (Exception e) when (e is RemoteException or ArgumentException)
            {
                Console.Error.WriteLine($"fsc: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static void Print<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, ManagementClient.Json));

    private static Command Show() => Remote(new Command("show", "The members: address, status, roles, reachability; the leader and the oldest."), async (client, _, json, cancel) =>
    {
        var view = await client.Get<ClusterView>("api/cluster", cancel);
        if (json) { Print(view); return 0; }
        Console.WriteLine($"self    {view.Self}");
        Console.WriteLine($"leader  {view.Leader ?? "none"}");
        Console.WriteLine($"oldest  {view.Oldest ?? "none"}");
        var table = new Table("ADDRESS", "STATUS", "ROLES", "REACHABLE");
        foreach (var m in view.Members) table.Row(m.Address, m.Status, string.Join(",", m.Roles), m.Reachable);
        Console.WriteLine(table);
        return 0;
    });

    private static Command Member(string name, string description, string path, bool optional)
    {
        var address = new Argument<string?>("address") { Description = "akka.tcp://faceswap@HOST:PORT, or HOST:PORT.", Arity = optional ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne };
        return Remote(new Command(name, description) { address }, async (client, parse, json, cancel) =>
        {
            var given = parse.GetValue(address);
            return Result(await client.Post<CommandResult>(given is null ? $"api/{path}" : $"api/{path}?address={Uri.EscapeDataString(given)}", cancel), json);
        });
    }

    private static Command Simple(string name, string description, string path) =>
        Remote(new Command(name, description), async (client, _, json, cancel) => Result(await client.Post<CommandResult>($"api/{path}", cancel), json));

    private static int Result(CommandResult result, bool json)
    {
        if (json) Print(result);
        else (result.Ok ? Console.Out : Console.Error).WriteLine(result.Ok ? result.Message : $"fsc: {result.Message}");
        return result.Ok ? 0 : 1;
    }

    private static Command Tail()
    {
        var seconds = new Option<double?>("--seconds") { Description = "Stop after this many seconds (default: until Ctrl+C)." };
        return Remote(new Command("tail", "Membership events as they happen, from the current members on.") { seconds }, async (client, parse, json, cancel) =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            if (parse.GetValue(seconds) is { } s) stop.CancelAfter(TimeSpan.FromSeconds(s));
            try
            {
                await foreach (var e in client.Lines<MemberEvent>("api/cluster/tail", stop.Token))
                    Console.WriteLine(json ? JsonSerializer.Serialize(e, JsonSerializerOptions.Web)
                        : $"{e.Time:HH:mm:ss.fff}  {e.Event,-11}  {e.Address}  {e.Status}  {string.Join(",", e.Roles)}");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C or --seconds: the tail ends.
            }
            return 0;
        });
    }

    private static Command Regions() => Remote(new Command("regions", "The shard region types this node runs or proxies."), async (client, _, json, cancel) =>
    {
        var regions = await client.Get<string[]>("api/sharding/regions", cancel);
        if (json) Print(regions);
        else foreach (var region in regions) Console.WriteLine(region);
        return 0;
    });

    private static Option<string> RegionOption() => new("--region", "-r") { Description = "The region type (see 'cluster-sharding regions').", Required = true };

    private static Command RegionStats()
    {
        var region = RegionOption();
        return Remote(new Command("region-stats", "Per node: the shards and entities of a region type.") { region }, async (client, parse, json, cancel) =>
        {
            var stats = await client.Get<RegionStatsView>($"api/sharding/region-stats?type={Uri.EscapeDataString(parse.GetValue(region)!)}", cancel);
            if (json) { Print(stats); return 0; }
            var table = new Table("ADDRESS", "SHARDS", "ENTITIES");
            foreach (var r in stats.Regions) table.Row(r.Address, r.Shards, r.Entities);
            Console.WriteLine(table);
            return 0;
        });
    }

    private static Command ShardStats()
    {
        var region = RegionOption();
        return Remote(new Command("shard-stats", "Per shard of a region type: where it lives and its entities.") { region }, async (client, parse, json, cancel) =>
        {
            var stats = await client.Get<ShardStatsView>($"api/sharding/shard-stats?type={Uri.EscapeDataString(parse.GetValue(region)!)}", cancel);
            if (json) { Print(stats); return 0; }
            var table = new Table("SHARD", "ADDRESS", "ENTITIES");
            foreach (var s in stats.Shards) table.Row(s.Shard, s.Address, s.Entities);
            Console.WriteLine(table);
            foreach (var missing in stats.Unanswered) Console.Error.WriteLine($"fsc: shard {missing} did not answer");
            return 0;
        });
    }

    private static Command Hierarchy()
    {
        var depth = new Option<int>("--depth", "-d") { Description = "How deep to go below /user and /system.", DefaultValueFactory = _ => 3 };
        return Remote(new Command("hierarchy", "The node's actor tree under /user and /system.") { depth }, async (client, parse, json, cancel) =>
        {
            var roots = await client.Get<ActorNode[]>($"api/actors?depth={parse.GetValue(depth)}", cancel);
            if (json) { Print(roots); return 0; }
            void Write(ActorNode node, string indent)
            {
                Console.WriteLine(indent + node.Path);
                foreach (var child in node.Children) Write(child, indent + "  ");
            }
            foreach (var root in roots) Write(root, "");
            return 0;
        });
    }

    private static Command Peek()
    {
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the last lines.", DefaultValueFactory = _ => 50 };
        var level = new Option<string?>("--level") { Description = "The least level shown: information, warning, error, critical." };
        return Remote(new Command("peek", "The node's last log lines (Akka's included).") { lines, level }, async (client, parse, json, cancel) =>
        {
            var path = $"api/log?lines={parse.GetValue(lines)}" + (parse.GetValue(level) is { } l ? $"&level={Uri.EscapeDataString(l)}" : "");
            var entries = await client.Get<LogEntry[]>(path, cancel);
            if (json) { Print(entries); return 0; }
            foreach (var e in entries) Console.WriteLine($"{e.Time:HH:mm:ss.fff}  {e.Level,-11}  {e.Category}  {e.Message}");
            return 0;
        });
    }

    private static Command Placement() => Remote(new Command("placement", "Which worker holds which model, the operator's pins and drains, failed loads."), async (client, _, json, cancel) =>
    {
        var plan = await client.Get<PlacementPlan>("api/models/placement", cancel);
        if (json) { Print(plan); return 0; }
        Console.WriteLine($"plan v{plan.Version}");
        var table = new Table("MODEL", "NODES", "PINNED", "NOTE");
        foreach (var m in plan.Models)
            table.Row(m.Model, string.Join(" ", m.Nodes), plan.Pins.Any(p => p.Model == m.Model), m.Unplaced);
        Console.WriteLine(table);
        foreach (var pin in plan.Pins) Console.WriteLine($"pinned   {pin.Model} -> {string.Join(" ", pin.Nodes)}");
        foreach (var node in plan.Drained) Console.WriteLine($"drained  {node}");
        foreach (var failed in plan.Failed) Console.WriteLine($"failed   {failed.Model} on {failed.Node}: {failed.Error}");
        return 0;
    });

    private static Command Override(string name, string description, string path, bool nodes, bool single = false)
    {
        var model = new Argument<string>("model") { Description = "The model's name (see 'models placement')." };
        var one = new Argument<string>("node") { Description = "akka.tcp://faceswap@HOST:PORT or HOST:PORT." };
        var many = new Argument<string[]>("nodes") { Description = "akka.tcp://faceswap@HOST:PORT or HOST:PORT, one or more.", Arity = ArgumentArity.OneOrMore };
        var command = new Command(name, description) { model };
        if (nodes) command.Arguments.Add(single ? one : many);
        return Remote(command, async (client, parse, json, cancel) =>
        {
            string[] targets = !nodes ? [] : single ? [parse.GetValue(one)!] : parse.GetValue(many)!;
            var query = $"model={Uri.EscapeDataString(parse.GetValue(model)!)}" + string.Concat(targets.Select(n => $"&node={Uri.EscapeDataString(n)}"));
            return Applied(await client.Post<OverrideResult>($"api/{path}?{query}", cancel), json);
        });
    }

    private static Command Drain(string name, string description, string path)
    {
        var node = new Argument<string>("node") { Description = "akka.tcp://faceswap@HOST:PORT or HOST:PORT." };
        return Remote(new Command(name, description) { node }, async (client, parse, json, cancel) =>
            Applied(await client.Post<OverrideResult>($"api/{path}?address={Uri.EscapeDataString(parse.GetValue(node)!)}", cancel), json));
    }

    private static int Applied(OverrideResult result, bool json)
    {
        if (json) Print(result);
        else if (result.Applied) Console.WriteLine($"applied: plan v{result.PlanVersion}{(result.Reason is null ? "" : $" ({result.Reason})")}");
        else Console.Error.WriteLine($"fsc: refused: {result.Reason}");
        return result.Applied ? 0 : 1;
    }

    private static Command StreamList() => Remote(new Command("list", "The live streams: rate now, frames by outcome, latency, where their stages run."), async (client, _, json, cancel) =>
    {
        var view = await client.Get<StreamsView>("api/streams", cancel);
        if (json) { Print(view); return 0; }
        var table = new Table("STREAM", "EDGE", "IDENTITY", "FPS", "SWAPPED-FPS", "TARGET", "SWAPPED", "FAIL-MODE", "DROPPED", "P50-MS", "P99-MS", "MAX-GAP-MS", "WORKERS");
        foreach (var s in view.Streams)
        {
            var e2e = s.Latency.FirstOrDefault(l => l.Stage == "end-to-end");
            table.Row(s.StreamId, s.Edge, s.Identity, s.RecentFps, s.RecentSwappedFps, s.TargetFps, s.Swapped, s.FailModeFrames, s.Dropped, e2e?.P50, e2e?.P99, s.MaxOutputGapMs,
                string.Join(" ", s.AnsweredBy.Keys.Order(StringComparer.Ordinal)));
        }
        Console.WriteLine(table.Count == 0 ? "no live stream" : table.ToString());
        foreach (var missing in view.Unanswered) Console.Error.WriteLine($"fsc: edge {missing} did not answer");
        return 0;
    });

    private static Command StreamStart()
    {
        var source = new Option<string>("--source") { Description = "An RTSP/HTTP/UDP (MPEG-TS)/SRT URL or a V4L2 camera (/dev/videoN), read through FFmpeg.", Required = true };
        var identity = new Option<string>("--identity") { Description = "The registered source identity to swap in (its consent must cover streams).", Required = true };
        var fps = new Option<double>("--fps") { Description = "The stream's frame rate.", DefaultValueFactory = _ => 30 };
        var id = new Option<string?>("--id") { Description = "The stream's id (default: a fresh live-… id)." };
        var record = new Option<string?>("--record") { Description = "Record the marked output, with the source's sound, to this .mp4 on the edge (a bare name lands in its recordings folder)." };
        var push = new Option<string?>("--push") { Description = "Push the marked output to udp://HOST:PORT (MPEG-TS), rtsp://, srt:// or a v4l2loopback /dev/videoN." };
        var set = new Option<string[]>("--set") { Description = "A live control, KEY=VALUE (selection, enhancer, enhanceStrength, blend, color, detectEvery, failMode, label); repeatable.", AllowMultipleArgumentsPerToken = true };
        return Remote(new Command("start", "Start a stream on the edge spoken to, from a URL or a camera; prints its id and where to watch it.") { source, identity, fps, id, record, push, set },
            async (client, parse, json, cancel) =>
            {
                var query = new List<string> { $"source={Uri.EscapeDataString(parse.GetValue(source)!)}", $"identity={Uri.EscapeDataString(parse.GetValue(identity)!)}",
                    $"fps={parse.GetValue(fps).ToString(System.Globalization.CultureInfo.InvariantCulture)}" };
                foreach (var (key, option) in new[] { ("id", id), ("record", record), ("push", push) })
                    if (parse.GetValue(option) is { Length: > 0 } value) query.Add($"{key}={Uri.EscapeDataString(value)}");
                query.AddRange(Settings(parse.GetValue(set) ?? []));
                var answer = await client.Post<JsonElement>($"api/streams/start?{string.Join("&", query)}", cancel);
                if (answer.TryGetProperty("ok", out var ok) && !ok.GetBoolean()) return Result(answer.Deserialize<CommandResult>(ManagementClient.Json)!, json);
                var started = answer.Deserialize<LiveStreamStarted>(ManagementClient.Json)!;
                if (json) { Print(started); return 0; }
                Console.WriteLine($"started: stream {started.StreamId} from {started.Source} (session {started.Session}); watch at {client.Address}{started.Mjpeg.TrimStart('/')}");
                foreach (var output in started.Outputs) Console.WriteLine($"output   {output}");
                Console.WriteLine(started.StreamId);
                return 0;
            });
    }

    private static Command StreamStop()
    {
        var id = new Argument<string>("stream") { Description = "The stream's id (see 'streams list')." };
        return Remote(new Command("stop", "Stop a live stream on the edge spoken to; a recording is finished and signed before this returns.") { id }, async (client, parse, json, cancel) =>
            Result(await client.Post<CommandResult>($"api/streams/stop?id={Uri.EscapeDataString(parse.GetValue(id)!)}", cancel), json));
    }

    private static Command StreamSet()
    {
        var id = new Argument<string>("stream") { Description = "The stream's id (see 'streams list')." };
        var settings = new Argument<string[]>("settings") { Description = "KEY=VALUE: selection, enhancer, enhanceStrength, blend, color, detectEvery, failMode, label.", Arity = ArgumentArity.OneOrMore };
        return Remote(new Command("set", "Change a live stream's controls from its next frame (the change is audited).") { id, settings }, async (client, parse, json, cancel) =>
        {
            var answer = await client.Post<JsonElement>($"api/streams/set?id={Uri.EscapeDataString(parse.GetValue(id)!)}&{string.Join("&", Settings(parse.GetValue(settings)!))}", cancel);
            if (answer.TryGetProperty("ok", out var ok) && !ok.GetBoolean()) return Result(answer.Deserialize<CommandResult>(ManagementClient.Json)!, json);
            if (json) { Print(answer); return 0; }
            var table = new Table("SETTING", "VALUE");
            foreach (var property in answer.EnumerateObject()) table.Row(property.Name, property.Value.ToString());
            Console.WriteLine(table);
            return 0;
        });
    }

    /// <summary>KEY=VALUE words as query arguments.</summary>
    private static IEnumerable<string> Settings(IEnumerable<string> words) => words.Select(word =>
    {
        var equals = word.IndexOf('=');
        if (equals <= 0) throw new ArgumentException($"'{word}' is not KEY=VALUE");
        return $"{Uri.EscapeDataString(word[..equals])}={Uri.EscapeDataString(word[(equals + 1)..])}";
    });

    private static Command StreamStats()
    {
        var id = new Argument<string>("stream") { Description = "The stream's id (see 'streams list')." };
        return Remote(new Command("stats", "One stream: fps, latency percentiles per stage, drops by stage and reason, its workers.") { id }, async (client, parse, json, cancel) =>
        {
            var s = await client.Get<StreamSummary>($"api/streams/{Uri.EscapeDataString(parse.GetValue(id)!)}", cancel);
            if (json) { Print(s); return 0; }
            Console.WriteLine($"stream    {s.StreamId} on {s.Edge}, identity {s.Identity}, from {s.Source}");
            Console.WriteLine($"rate      {s.RecentFps:0.0} fps emitted, {s.RecentSwappedFps:0.0} fps swapped (target {s.TargetFps:0.#}); budget {s.BudgetMs} ms; fail mode {s.FailMode}");
            Console.WriteLine($"frames    {s.Offered} offered: {s.Swapped} swapped, {s.FailModeFrames} fail-mode, {s.Dropped} dropped, {s.InFlight} in flight; longest output gap {s.MaxOutputGapMs:0} ms; up {s.UptimeSeconds:0} s");
            var latency = new Table("STAGE", "COUNT", "P50-MS", "P90-MS", "P99-MS", "MAX-MS");
            foreach (var l in s.Latency) latency.Row(l.Stage, l.Count, l.P50, l.P90, l.P99, l.Max);
            Console.WriteLine(latency);
            if (s.Drops.Count > 0)
            {
                var drops = new Table("DROPPED-AT", "REASON", "FRAMES");
                foreach (var (key, count) in s.Drops.OrderByDescending(d => d.Value))
                    drops.Row(key.Split('/')[0], key.Split('/').ElementAtOrDefault(1), count);
                Console.WriteLine(drops);
            }
            var workers = new Table("WORKER", "SWAP-ANSWERS");
            foreach (var (worker, count) in s.AnsweredBy.OrderBy(w => w.Key, StringComparer.Ordinal)) workers.Row(worker, count);
            Console.WriteLine(workers);
            return 0;
        });
    }

    /// <summary><c>fsc doctor --host HOST:PORT</c>: every node's findings, from the node spoken to.</summary>
    public static async Task<int> Doctor(string host, string? token, bool json, CancellationToken cancel)
    {
        try
        {
            using var client = new ManagementClient(host, token);
            var view = await client.Get<DoctorView>("api/doctor", cancel);
            if (json) { Print(view); return view.Nodes.Any(n => n.Findings.Any(f => f.Level == "fail")) ? 1 : 0; }
            var table = new Table("NODE", "ROLES", "LEVEL", "CHECK", "DETAIL");
            foreach (var node in view.Nodes)
                foreach (var f in node.Findings) table.Row(node.Node, string.Join(",", node.Roles), f.Level, f.Subject, f.Detail);
            Console.WriteLine(table);
            foreach (var missing in view.Unanswered) Console.Error.WriteLine($"fsc: {missing} did not answer");
            var failed = view.Nodes.Sum(n => n.Findings.Count(f => f.Level == "fail"));
            Console.WriteLine(failed == 0 ? $"doctor: {view.Nodes.Length} node(s), nothing failed" : $"doctor: {failed} check(s) failed");
            return failed == 0 && view.Unanswered.Length == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is RemoteException or ArgumentException)
        {
            Console.Error.WriteLine($"fsc: {e.Message}");
            return 1;
        }
    }
}
