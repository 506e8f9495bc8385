using Akka.Configuration;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Cluster.Placement;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Inference.Batching;
using FaceSwap.Node.Tracing;

namespace FaceSwap.Node;

/// <summary>
/// The node's settings: <c>faceswap.node</c> and <c>faceswap.edge</c> from the same HOCON as fsc (config/faceswap.conf,
/// <c>$FSC_CONFIG</c> over it), with environment overrides, then the command line's over both. <see cref="Config"/>
/// is that merged HOCON, read once: the host lays its <c>faceswap</c> tree (the stage dispatcher) into the actor system.
/// </summary>
public sealed record NodeSettings(
    IReadOnlyList<string> Roles,
    string SystemName,
    string Hostname,
    string? PublicHostname,
    int Port,
    int PublicPort,
    IReadOnlyList<string> Seeds,
    TimeSpan PassivateIdleAfter,
    int MaxFrameSize,
    EdgeDefaults Edge,
    BatchingOptions Batching,
    WorkerAgentOptions Agent,
    PlacementSettings Placement,
    Management.ManagementSettings Management,
    FscSettings Fsc,
    TracingSettings Tracing,
    Security.TlsSettings Tls,
    Live.LiveSettings Live,
    string Source,
    Config Config)
{
    private static readonly (string Variable, string Path)[] Overrides =
    [
        ("FSC_HOSTNAME", "faceswap.node.hostname"),
        ("FSC_PUBLIC_HOSTNAME", "faceswap.node.public-hostname"),
        ("FSC_PORT", "faceswap.node.port"),
        ("FSC_PUBLIC_PORT", "faceswap.node.public-port"),
        ("FSC_STALL_FENCE", StallFence.SettingPath),
        ("FSC_BUDGET_MS", "faceswap.edge.budget-ms"),
        ("FSC_FAIL_MODE", "faceswap.edge.fail-mode"),
        ("FSC_JPEG_QUALITY", "faceswap.edge.jpeg-quality"),
        ("FSC_MAX_BATCH", "faceswap.worker.batching.max-batch"),
        ("FSC_MAX_QUEUE_DELAY", "faceswap.worker.batching.max-queue-delay"),
        ("FSC_ADMISSION", "faceswap.edge.admission"),
        ("FSC_CAPACITY_FPS", "faceswap.worker.placement.capacity-fps"),
        ("FSC_MODEL_MEMORY", "faceswap.worker.placement.memory-bytes"),
        ("FSC_PLACEMENT_DIR", "faceswap.placement.durable-dir"),
        ("FSC_MANAGEMENT_HOSTNAME", "faceswap.management.hostname"),
        ("FSC_MANAGEMENT_PORT", "faceswap.management.port"),
        ("FSC_MANAGEMENT_TOKEN", "faceswap.management.token"),
        ("FSC_MANAGEMENT_TOKEN_FILE", "faceswap.management.token-file"),
        ("FSC_OTLP_ENDPOINT", "faceswap.tracing.otlp-endpoint"),
        ("FSC_TLS", "faceswap.node.tls.enabled"),
        ("FSC_TLS_CERTIFICATE", "faceswap.node.tls.certificate"),
        ("FSC_TLS_KEY", "faceswap.node.tls.key"),
        ("FSC_TLS_PASSWORD", "faceswap.node.tls.password"),
        ("FSC_TLS_CA", "faceswap.node.tls.ca"),
        ("FSC_LIVE_TOKEN", "faceswap.live.token"),
        ("FSC_LIVE_TOKEN_FILE", "faceswap.live.token-file"),
    ];

    /// <summary>Every environment variable a node's settings read through the config, with the path it overrides (deployment tests check manifests against it).</summary>
    public static IReadOnlyList<(string Variable, string Path)> EnvironmentOverrides => [.. FscSettings.EnvironmentOverrides, .. Overrides];

    public bool Has(string role) => Roles.Contains(role);

    /// <summary>This node's own address: the seed when no seeds are configured.</summary>
    public string SelfAddress => $"{Protocol}://{SystemName}@{(string.IsNullOrEmpty(PublicHostname) ? Hostname : PublicHostname)}:{(PublicPort > 0 ? PublicPort : Port)}";

    /// <summary>The remoting scheme: DotNetty names TLS connections akka.ssl.tcp.</summary>
    public string Protocol => Tls.Enabled ? "akka.ssl.tcp" : "akka.tcp";

    public static NodeSettings Load()
    {
        var (config, source) = FscSettings.LoadConfig(Overrides);
        var roles = Environment.GetEnvironmentVariable("FSC_ROLES") is { Length: > 0 } r ? Split(r) : config.GetStringList("faceswap.node.roles").ToList();
        var seeds = Environment.GetEnvironmentVariable("FSC_SEEDS") is { Length: > 0 } s ? Split(s) : config.GetStringList("faceswap.node.seeds").ToList();
        return new NodeSettings(
            CheckRoles(roles, source),
            config.GetString("faceswap.node.system-name", "faceswap"),
            config.GetString("faceswap.node.hostname", "127.0.0.1"),
            config.GetString("faceswap.node.public-hostname", "") is { Length: > 0 } p ? p : null,
            CheckPort(config.GetInt("faceswap.node.port", 4053), source),
            CheckPort(config.GetInt("faceswap.node.public-port", 0), source),
            seeds,
            config.GetTimeSpan("faceswap.node.passivate-idle-after", TimeSpan.FromMinutes(2)),
            config.GetInt("faceswap.node.max-frame-size", 8 * 1024 * 1024),
            EdgeDefaults.From(config, source),
            BatchingFrom(config, source),
            Section(source, "faceswap.worker.placement", () => new WorkerAgentOptions
            {
                CapacityFps = config.GetDouble("faceswap.worker.placement.capacity-fps", 60),
                MemoryBytes = config.GetLong("faceswap.worker.placement.memory-bytes", 0),
                ReportInterval = config.GetTimeSpan("faceswap.worker.placement.report-interval", TimeSpan.FromSeconds(2)),
                UnloadGrace = config.GetTimeSpan("faceswap.worker.placement.unload-grace", TimeSpan.FromSeconds(5)),
            }.Validated()),
            Section(source, "faceswap.placement", () => new PlacementSettings(
                new PlacementPolicy
                {
                    Replicas = config.GetInt("faceswap.placement.replicas", 2),
                    MemoryHeadroom = config.GetDouble("faceswap.placement.memory-headroom", 0.1),
                }.Validated(),
                config.GetTimeSpan("faceswap.placement.consistency-timeout", TimeSpan.FromSeconds(3)),
                FscSettings.Absolute(config.GetString("faceswap.placement.durable-dir", ".cache/placement")))),
            Section(source, "faceswap.management", () => FaceSwap.Node.Management.ManagementSettings.From(config, source)),
            FscSettings.From(config, source),
            Section(source, TracingSettings.SectionPath, () => TracingSettings.From(config)),
            Section(source, "faceswap.node.tls", () => Security.TlsSettings.From(config)),
            FaceSwap.Node.Live.LiveSettings.From(config, source),
            source,
            config);
    }

    /// <summary>The <c>faceswap.worker.batching</c> section: how a worker's detector and FaceMesh form batches across streams.</summary>
    private static BatchingOptions BatchingFrom(Config config, string source) =>
        Section(source, "faceswap.worker.batching", () => new BatchingOptions
        {
            MaxBatch = config.GetInt("faceswap.worker.batching.max-batch", 8),
            MaxQueueDelay = config.GetTimeSpan("faceswap.worker.batching.max-queue-delay", TimeSpan.FromMilliseconds(2)),
        }.Validated());

    /// <summary>Reads a section, naming it and the file in the error when a value is out of range or malformed.</summary>
    private static T Section<T>(string source, string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or ConfigurationException)
        {
            throw new ArgumentException($"{source}: {path}: {e.Message}", e);
        }
    }

    private static int CheckPort(int port, string source) =>
        port is >= 0 and <= 65535 ? port : throw new ArgumentException($"{source}: faceswap.node.port {port} is not a port");

    public static IReadOnlyList<string> CheckRoles(IReadOnlyList<string> roles, string source)
    {
        if (roles.Count == 0) throw new ArgumentException($"{source}: no roles; give any of {string.Join(", ", Contracts.Roles.All)}");
        foreach (var role in roles)
            if (!Contracts.Roles.All.Contains(role))
                throw new ArgumentException($"{source}: unknown role '{role}'; roles are {string.Join(", ", Contracts.Roles.All)}");
        return roles;
    }

    public static List<string> Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}

/// <summary>The <c>faceswap.placement</c> section: the coordinator's policy and where each node keeps the plan durably.</summary>
public sealed record PlacementSettings(PlacementPolicy Policy, TimeSpan ConsistencyTimeout, string DurableDir);

/// <summary>The <c>faceswap.edge</c> section: what every stream starts with.</summary>
public sealed record EdgeDefaults(int BudgetMs, int Parallelism, int Buffer, FailMode FailMode, int JpegQuality, int DetectMaxSide,
    AdmissionMode Admission = AdmissionMode.Refuse, TimeSpan AdmissionWait = default)
{
    public static EdgeDefaults From(Config config, string source) => new(
        config.GetInt("faceswap.edge.budget-ms", 150),
        config.GetInt("faceswap.edge.parallelism", 2),
        config.GetInt("faceswap.edge.buffer", 1),
        Enum.TryParse<FailMode>(config.GetString("faceswap.edge.fail-mode", "blur"), ignoreCase: true, out var mode)
            ? mode : throw new ArgumentException($"{source}: faceswap.edge.fail-mode must be blur, hold or passthrough"),
        config.GetInt("faceswap.edge.jpeg-quality", 90),
        config.GetInt("faceswap.edge.detect-max-side", 640),
        Enum.TryParse<AdmissionMode>(config.GetString("faceswap.edge.admission", "refuse"), ignoreCase: true, out var admission)
            ? admission : throw new ArgumentException($"{source}: faceswap.edge.admission must be refuse, queue or off"),
        config.GetTimeSpan("faceswap.edge.admission-wait", TimeSpan.FromSeconds(30)));

    public EdgeStreamOptions For(string streamId, StreamSettings swap, double framesPerSecond, int maxPayloadBytes) => new EdgeStreamOptions
    {
        StreamId = streamId,
        Swap = swap,
        FramesPerSecond = framesPerSecond,
        BudgetMs = BudgetMs,
        Parallelism = Parallelism,
        BufferSize = Buffer,
        FailMode = FailMode,
        JpegQuality = JpegQuality,
        DetectMaxSide = DetectMaxSide,
        MaxPayloadBytes = maxPayloadBytes,
    }.Validate();
}
