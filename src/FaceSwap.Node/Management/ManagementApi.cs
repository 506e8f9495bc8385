using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node.Management;

/// <summary>
/// The node's HTTP endpoint: <c>/healthz</c> and <c>/readyz</c> for the probes, <c>/metrics</c> for Prometheus, and
/// under <c>/api</c> (bearer token) what <c>fsc HOST:PORT ...</c> runs: membership and its commands, sharding
/// statistics, the actor tree, the log, placement and its overrides, streams and the doctor, for the whole cluster.
/// </summary>
public static class ManagementApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The API's rate limit: a token bucket per client address over /api (probes and metrics stay free).</summary>
    public static void AddServices(IServiceCollection services, ManagementSettings settings) => services.AddRateLimiter(options =>
    {
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => context.Request.Path.StartsWithSegments("/api")
            ? RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = settings.Burst,
                TokensPerPeriod = settings.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            })
            : RateLimitPartition.GetNoLimiter("probes"));
        options.OnRejected = async (rejected, cancel) =>
        {
            rejected.HttpContext.Response.Headers.RetryAfter = "1";
            await rejected.HttpContext.Response.WriteAsJsonAsync(new CommandResult(false,
                $"too many requests from {rejected.HttpContext.Connection.RemoteIpAddress}: the API takes {settings.RequestsPerSecond} per second (burst {settings.Burst}); retry in a second"), cancel);
        };
    });

    public static void Map(WebApplication app, NodeSettings settings, WorkerModels? worker)
    {
        app.UseRateLimiter();
        var tokens = new ManagementTokens(settings.Management);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("management");
        ActorSystem System() => app.Services.GetRequiredService<ActorSystem>();
        IActorRef Coordinator() => app.Services.GetRequiredService<ActorRegistry>().Get<PlacementCoordinatorKey>();

        app.Use(async (context, next) =>
        {
            // A registration photo is the one large body, on its own endpoint with its own limit.
            if (context.Request.ContentLength > ManagementSettings.MaxBodyBytes && !context.Request.Path.Equals("/live/identities"))
            {
                await Results.Json(new CommandResult(false, $"a {context.Request.ContentLength}-byte request body is over the API's {ManagementSettings.MaxBodyBytes} bytes (it takes its arguments in the query)"),
                    statusCode: StatusCodes.Status413PayloadTooLarge).ExecuteAsync(context);
                return;
            }
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                var header = context.Request.Headers.Authorization.ToString();
                if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !tokens.Accepts(header["Bearer ".Length..].Trim()))
                {
                    logger.LogWarning("management: refused {Method} {Path} from {Remote}: no valid bearer token", context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress);
                    await Results.Json(new CommandResult(false, "a valid bearer token is required (fsc --token, FSC_MANAGEMENT_TOKEN or the node's token file)"), statusCode: 401).ExecuteAsync(context);
                    return;
                }
            }
            try
            {
                await next(context);
            }
            catch (ManagementException e)
            {
                await Results.Json(new CommandResult(false, e.Message), statusCode: e.Status).ExecuteAsync(context);
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException)
            {
                logger.LogWarning(e, "management: {Path} timed out", context.Request.Path);
                await Results.Json(new CommandResult(false, $"the cluster did not answer in time: {e.Message}"), statusCode: 504).ExecuteAsync(context);
            }
        });

        app.MapGet("/healthz", () => System().WhenTerminated.IsCompleted
            ? Results.Text("actor system terminated\n", statusCode: 503)
            : Results.Text("ok\n"));
        app.MapGet("/readyz", () => NodeReadiness.Check(System(), worker) is var (ready, reason) && ready
            ? Results.Text(reason + "\n")
            : Results.Text(reason + "\n", statusCode: 503));
        app.MapGet("/metrics", (NodeMetrics metrics) => Results.Text(metrics.Scrape(System()), MetricsText.ContentType));

        var api = app.MapGroup("/api");
        api.MapGet("/cluster", () => Show(System()));
        api.MapGet("/cluster/tail", async (HttpContext context) => await Tail(System(), context));
        api.MapPost("/cluster/join", (string address) =>
        {
            var target = ParseAddress(System(), address);
            Akka.Cluster.Cluster.Get(System()).Join(target);
            return Done($"joining {target}");
        });
        api.MapPost("/cluster/leave", (string? address) =>
        {
            var target = address is null ? Akka.Cluster.Cluster.Get(System()).SelfAddress : Member(System(), address);
            Akka.Cluster.Cluster.Get(System()).Leave(target);
            logger.LogInformation("management: operator asked {Node} to leave", target);
            return Done($"{target} is leaving: its shards hand over, then it exits");
        });
        api.MapPost("/cluster/down", (string address) =>
        {
            var target = Member(System(), address);
            Akka.Cluster.Cluster.Get(System()).Down(target);
            logger.LogWarning("management: operator downed {Node}", target);
            return Done($"{target} downed");
        });
        api.MapPost("/cluster/down-unreachable", () =>
        {
            var cluster = Akka.Cluster.Cluster.Get(System());
            var unreachable = cluster.State.Unreachable.Select(m => m.Address).ToList();
            foreach (var address in unreachable) cluster.Down(address);
            if (unreachable.Count > 0) logger.LogWarning("management: operator downed the unreachable {Nodes}", string.Join(", ", unreachable));
            return Done(unreachable.Count == 0 ? "no member is unreachable" : $"downed {string.Join(", ", unreachable)}");
        });

        api.MapGet("/sharding/regions", () => RegionTypes(System()));
        api.MapGet("/sharding/region-stats", async (string type) =>
        {
            var stats = await ShardingStats(System(), type);
            return new RegionStatsView(type, [.. stats.Regions.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal)
                .Select(r => new RegionStat(r.Key.ToString(), r.Value.Stats.Count, r.Value.Stats.Values.Sum()))]);
        });
        api.MapGet("/sharding/shard-stats", async (string type) =>
        {
            var stats = await ShardingStats(System(), type);
            return new ShardStatsView(type,
                [.. stats.Regions.SelectMany(r => r.Value.Stats.Select(s => new ShardStat(r.Key.ToString(), s.Key, s.Value)))
                    .OrderBy(s => s.Shard, StringComparer.Ordinal)],
                [.. stats.Regions.SelectMany(r => r.Value.Failed.Select(f => $"{r.Key}/{f}"))]);
        });

        api.MapGet("/actors", (int? depth) => ActorTree.Of(System(), Math.Clamp(depth ?? 3, 0, 20)));
        api.MapGet("/log", (int? lines, string? level, LogRing ring) =>
        {
            var least = LogLevel.Information;
            if (level is not null && !Enum.TryParse(level, ignoreCase: true, out least))
                throw new ManagementException($"level '{level}' is not one of information, warning, error, critical");
            return ring.Last(Math.Clamp(lines ?? 50, 1, 10_000), least);
        });

        api.MapGet("/models/placement", async () => await Coordinator().Ask<PlacementPlan>(new GetPlan(), AskTimeout));
        api.MapPost("/models/pin", async (string model, [Microsoft.AspNetCore.Mvc.FromQuery] string[] node) =>
            await Override(Coordinator(), new PinModel(ModelName(model), [.. node.Select(n => Member(System(), n).ToString())]), logger));
        api.MapPost("/models/unpin", async (string model) => await Override(Coordinator(), new PinModel(ModelName(model), []), logger));
        api.MapPost("/models/load", async (string model, string node) =>
        {
            var plan = await Coordinator().Ask<PlacementPlan>(new GetPlan(), AskTimeout);
            var target = Member(System(), node).ToString();
            return await Override(Coordinator(), new PinModel(ModelName(model), [.. PinnedOrPlaced(plan, model).Append(target).Distinct()]), logger);
        });
        api.MapPost("/models/unload", async (string model, string node) =>
        {
            var plan = await Coordinator().Ask<PlacementPlan>(new GetPlan(), AskTimeout);
            var target = Member(System(), node).ToString();
            var rest = PinnedOrPlaced(plan, ModelName(model)).Where(n => n != target).ToArray();
            if (rest.Length == 0) throw new ManagementException($"{model} would be on no node after unloading it from {target}: load it elsewhere first, or drain {target}", 409);
            return await Override(Coordinator(), new PinModel(model, rest), logger);
        });
        api.MapPost("/nodes/drain", async (string address) => await Override(Coordinator(), new DrainNode(Member(System(), address).ToString()), logger));
        api.MapPost("/nodes/undrain", async (string address) => await Override(Coordinator(), new DrainNode(Member(System(), address).ToString(), Drain: false), logger));

        api.MapGet("/streams", async () =>
        {
            var (nodes, missing) = await Query(System(), new QueryNode(Streams: true, Doctor: false), Contracts.Roles.Edge);
            return new StreamsView([.. nodes.SelectMany(n => n.Streams).OrderBy(s => s.StreamId, StringComparer.Ordinal)], missing);
        });
        api.MapGet("/streams/{id}", async (string id) =>
        {
            var (nodes, missing) = await Query(System(), new QueryNode(Streams: true, Doctor: false), Contracts.Roles.Edge);
            return nodes.SelectMany(n => n.Streams).FirstOrDefault(s => s.StreamId == id)
                ?? throw new ManagementException($"no stream '{id}' on the cluster's edges{(missing.Length > 0 ? $" ({string.Join(", ", missing)} did not answer)" : "")}", 404);
        });
        api.MapGet("/doctor", async () =>
        {
            var (nodes, missing) = await Query(System(), new QueryNode(Streams: false, Doctor: true), role: null);
            return new DoctorView(nodes, missing);
        });
    }

    private static CommandResult Done(string message) => new(true, message);

    private static string ModelName(string name)
    {
        try
        {
            return FaceSwap.Inference.Models.ModelStore.CheckName(name);
        }
        catch (ArgumentException e)
        {
            throw new ManagementException(e.Message);
        }
    }

    private static ClusterView Show(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .Select(m => new MemberView(m.Address.ToString(), ClusterStatus.Name(m.Status), [.. m.Roles.Order(StringComparer.Ordinal)], !unreachable.Contains(m.Address)))
            .ToArray();
        var oldest = state.Members.Where(m => m.Status == MemberStatus.Up).OrderBy(m => m, Akka.Cluster.Member.AgeOrdering).FirstOrDefault();
        return new ClusterView(cluster.SelfAddress.ToString(), state.Leader?.ToString(), oldest?.Address.ToString(), members);
    }

    private static async Task Tail(ActorSystem system, HttpContext context)
    {
        var channel = Channel.CreateUnbounded<MemberEvent>(new UnboundedChannelOptions { SingleReader = true });
        var tail = system.ActorOf(ClusterTail.Props(channel.Writer));
        try
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await foreach (var e in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(e, Json) + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went: the tail ends with it.
        }
        finally
        {
            system.Stop(tail);
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>The region types this node hosts (a worker) or proxies (an edge: the proxies are not in ShardTypeNames).</summary>
    private static string[] RegionTypes(ActorSystem system)
    {
        var sharding = ClusterSharding.Get(system);
        return [.. sharding.ShardTypeNames.Concat(new[] { Regions.Detect, Regions.Swap, Regions.Enhance }.Where(t => Proxy(sharding, t) is not null))
            .Distinct().Order(StringComparer.Ordinal)];
    }

    private static IActorRef? Proxy(ClusterSharding sharding, string type)
    {
        try
        {
            return sharding.ShardRegionProxy(type);
        }
        catch (ArgumentException)
        {
            return null; // no proxy of that type on this node
        }
    }

    private static async Task<ClusterShardingStats> ShardingStats(ActorSystem system, string type)
    {
        var sharding = ClusterSharding.Get(system);
        var region = sharding.ShardTypeNames.Contains(type) ? sharding.ShardRegion(type) : Proxy(sharding, type)
            ?? throw new ManagementException($"no region '{type}' on this node; regions: {string.Join(", ", RegionTypes(system))}", 404);
        return await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(AskTimeout), AskTimeout + TimeSpan.FromSeconds(1));
    }

    /// <summary>The model's pinned nodes, or where the plan has it now: what load and unload change by one node.</summary>
    private static IEnumerable<string> PinnedOrPlaced(PlacementPlan plan, string model) =>
        plan.Pins.FirstOrDefault(p => p.Model == model)?.Nodes ?? plan.NodesOf(model);

    private static async Task<IResult> Override(IActorRef coordinator, object command, ILogger logger)
    {
        var result = await coordinator.Ask<OverrideResult>(command, AskTimeout);
        logger.LogInformation("management: operator override {Command}: {Applied} (plan v{Version}) {Reason}", command, result.Applied ? "applied" : "refused", result.PlanVersion, result.Reason);
        return Results.Json(result, statusCode: result.Applied ? 200 : 409);
    }

    /// <summary>Asks the management agent of every member (with <paramref name="role"/>, if given) and waits for them all, up to the timeout.</summary>
    private static async Task<(NodeStatus[] Nodes, string[] Unanswered)> Query(ActorSystem system, QueryNode query, string? role)
    {
        var members = Akka.Cluster.Cluster.Get(system).State.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving && (role is null || m.HasRole(role))).ToList();
        var asks = members.Select(m => (m.Address, Task: system.ActorSelection(new RootActorPath(m.Address) / "user" / ManagementAgent.Name).Ask<NodeStatus>(query, AskTimeout))).ToList();
        try
        {
            await Task.WhenAll(asks.Select(a => a.Task));
        }
        catch (Exception) when (asks.Any(a => a.Task.IsFaulted || a.Task.IsCanceled))
        {
            // Members that did not answer are listed as such; the others' answers still count.
        }
        return ([.. asks.Where(a => a.Task.IsCompletedSuccessfully).Select(a => a.Task.Result).OrderBy(n => n.Node, StringComparer.Ordinal)],
            [.. asks.Where(a => !a.Task.IsCompletedSuccessfully).Select(a => $"{a.Address} ({a.Task.Exception?.GetBaseException().Message ?? "cancelled"})")]);
    }

    /// <summary>An address to join: akka.tcp://system@host:port, or host:port in this node's system.</summary>
    private static Address ParseAddress(ActorSystem system, string given)
    {
        try
        {
            var protocol = Akka.Cluster.Cluster.Get(system).SelfAddress.Protocol;
            return Address.Parse(given.Contains("://", StringComparison.Ordinal) ? given : $"{protocol}://{system.Name}@{given}");
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            throw new ManagementException($"'{given}' is not a node address (PROTOCOL://{system.Name}@HOST:PORT or HOST:PORT): {e.Message}");
        }
    }

    /// <summary>A member of the cluster by its full address or its host:port.</summary>
    private static Address Member(ActorSystem system, string given)
    {
        var members = Akka.Cluster.Cluster.Get(system).State.Members.Select(m => m.Address).ToList();
        var match = members.FirstOrDefault(a => a.ToString() == given || $"{a.Host}:{a.Port}" == given);
        return match ?? throw new ManagementException($"'{given}' is not a member; members: {string.Join(", ", members)}", 404);
    }
}

/// <summary>A management request that cannot be done: its HTTP status and the reason the CLI prints.</summary>
public sealed class ManagementException(string message, int status = 400) : Exception(message)
{
    public int Status { get; } = status;
}
