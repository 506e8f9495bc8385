using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Configuration;
using FaceSwap.Contracts;
using FaceSwap.Node.Management;
using k8s;
using k8s.Models;
using Xunit.Abstractions;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The deployment as shipped, against what the code reads: each k8s/ overlay rendered by <c>kubectl kustomize</c> and
/// read back with the Kubernetes client's models, and docker/'s Dockerfiles. Ports, probes, environment variables,
/// roles, the config file, the seed list, the GPU switch, the autoscaler and the disruption budgets. No cluster and no
/// Docker engine: kubectl only renders.
/// </summary>
public sealed partial class DeploymentTests(ITestOutputHelper output)
{
    private static readonly string K8s = Path.Combine(TestPaths.Root, "k8s");
    private static readonly string Docker = Path.Combine(TestPaths.Root, "docker");
    private static readonly string ConfigFile = Path.Combine(TestPaths.Root, "config", "faceswap.conf");
    private static readonly TimeSpan KubectlTimeout = TimeSpan.FromMinutes(1);

    // The environment variables the code reads, with the config path each overrides (null: read directly): the
    // overrides from the code itself, and the direct reads (NodeSettings.Load, FscSettings, RepositoryPaths.ModelStore,
    // fsc's ManagementClient and RemotePalette).
    private static readonly IReadOnlyDictionary<string, string?> EnvironmentVariables = NodeSettings.EnvironmentOverrides
        .Select(o => KeyValuePair.Create(o.Variable, (string?)o.Path))
        .Concat(new[] { "FSC_ROLES", "FSC_SEEDS", "FSC_CONFIG", "FSC_TRUSTED_KEYS", "FSC_ACTOR", "FSC_MODEL_STORE", "FSC_HOST" }
            .Select(v => KeyValuePair.Create(v, (string?)null)))
        .ToDictionary();

    private const string KubectlMissing =
        "kubectl is not on PATH: the deployment tests render k8s/overlays with `kubectl kustomize`. Install a kubectl with " +
        "kustomize v5 (tested: kubectl 1.32 and 1.33; Debian bookworm's kubernetes-client 1.20 is too old to build them).";

    public static TheoryData<string> Overlays => new() { "cpu", "gpu" };

    // ---- Kubernetes -------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Each_overlay_renders_every_role_with_its_own_image_and_tag(string overlay)
    {
        var farm = await Render(overlay);
        Assert.Single(farm.Of<V1StatefulSet>(), s => Role(s.Spec.Template) == Roles.Seed);
        Assert.Single(farm.Of<V1Deployment>(), d => Role(d.Spec.Template) == Roles.Edge);
        Assert.Single(farm.Of<V1Deployment>(), d => Role(d.Spec.Template) == Roles.Worker);
        Assert.Equal(3, farm.Workloads.Count);

        var workerTag = overlay == "gpu" ? "1.0.0-cuda12" : "1.0.0-cpu";
        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            Assert.Equal($"faceswap/{role}:{(role == Roles.Worker ? workerTag : "1.0.0")}", container.Image);
            // The image's role and the one the node is told agree, and it is one the node knows.
            var roles = Literal(farm, container, "FSC_ROLES");
            Assert.Equal(role, roles);
            NodeSettings.CheckRoles(NodeSettings.Split(roles!), $"{overlay}: {role}: FSC_ROLES");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Container_ports_probes_and_scrape_annotations_match_the_node_config(string overlay)
    {
        var farm = await Render(overlay);
        var defaults = ConfigurationFactory.ParseString(File.ReadAllText(ConfigFile));
        var defaultManagement = ManagementSettings.From(defaults, ConfigFile);
        foreach (var (role, _, template) in farm.Workloads)
        {
            var where = $"{overlay}: {role}";
            var container = Assert.Single(template.Spec.Containers);
            var config = EffectiveConfig(farm, container);
            var management = ManagementSettings.From(config, where);

            // What the manifests say is what the node binds: the config file's defaults, and the env over them.
            Same(defaults.GetInt("faceswap.node.port"), config.GetInt("faceswap.node.port"), $"{where}: remoting port (FSC_PORT) against config/faceswap.conf");
            Same(defaultManagement.Port, management.Port, $"{where}: management port (FSC_MANAGEMENT_PORT) against config/faceswap.conf");
            Same(config.GetInt("faceswap.node.port"), Port(container, "remoting"), $"{where}: containerPort 'remoting' against the node's port");
            Same(management.Port, Port(container, "management"), $"{where}: containerPort 'management' against the management port");
            // Probes come from the kubelet, not from the pod's loopback: the endpoint must bind every interface.
            Assert.True(management.Enabled, $"{where}: the management endpoint is off, so no probe can reach it");
            Same("0.0.0.0", management.Hostname, $"{where}: faceswap.management.hostname (FSC_MANAGEMENT_HOSTNAME)");
            Same("0.0.0.0", config.GetString("faceswap.node.hostname"), $"{where}: faceswap.node.hostname (FSC_HOSTNAME)");

            Probe(container, container.ReadinessProbe, "/readyz", management.Port, where);
            Probe(container, container.LivenessProbe, "/healthz", management.Port, where);
            Probe(container, container.StartupProbe, "/healthz", management.Port, where);

            string? Annotation(string key) => template.Metadata.Annotations?.TryGetValue(key, out var value) == true ? value : null;
            Same("true", Annotation("prometheus.io/scrape"), $"{where}: annotation prometheus.io/scrape");
            Same(management.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Annotation("prometheus.io/port"), $"{where}: annotation prometheus.io/port");
            Same("/metrics", Annotation("prometheus.io/path"), $"{where}: annotation prometheus.io/path");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_environment_variable_set_is_one_the_code_reads(string overlay)
    {
        var farm = await Render(overlay);
        foreach (var (role, _, template) in farm.Workloads)
        {
            var names = Environment(farm, Assert.Single(template.Spec.Containers)).Keys;
            var unknown = names.Where(name => !EnvironmentVariables.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
                Assert.Fail($"{overlay}: {role} sets environment variables no code reads: {string.Join(", ", unknown)}. " +
                            "Fix the name, or read it in NodeSettings/FscSettings and add it to this test's list.");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_seed_list_names_the_seed_pods_as_they_advertise_themselves(string overlay)
    {
        var farm = await Render(overlay);
        var seeds = Assert.Single(farm.Of<V1StatefulSet>());
        var service = Assert.Single(farm.Of<V1Service>(), s => s.Metadata.Name == seeds.Spec.ServiceName);
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses, "the seeds' names must resolve before the seeds are ready");
        Assert.True(Selects(service.Spec.Selector, seeds.Spec.Template), "the headless service does not select the seed pods");

        var config = ConfigurationFactory.ParseString(File.ReadAllText(ConfigFile));
        var system = config.GetString("faceswap.node.system-name");
        var port = config.GetInt("faceswap.node.port");
        var expected = Enumerable.Range(0, seeds.Spec.Replicas ?? 1)
            .Select(i => $"akka.ssl.tcp://{system}@{seeds.Metadata.Name}-{i}.{service.Metadata.Name}:{port}").ToList();
        Assert.True(expected.Count >= 2, "one seed is a single point of failure for joining");

        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            // The seed addresses' scheme is TLS's: remoting runs over mutual TLS with the farm's CA.
            Same("on", Literal(farm, container, "FSC_TLS"), $"{overlay}: {role}: FSC_TLS");
            Same(string.Join(",", expected), string.Join(",", NodeSettings.Split(Literal(farm, container, "FSC_SEEDS") ?? "")),
                $"{overlay}: {role}: FSC_SEEDS against the seed StatefulSet's pods");
            var env = container.Env.ToDictionary(e => e.Name);
            if (role == Roles.Seed)
            {
                // Akka drops what is addressed to another name than the one the node advertises: pod name + service.
                Assert.Equal("metadata.name", env["FSC_NODE_NAME"].ValueFrom.FieldRef.FieldPath);
                Assert.Equal($"$(FSC_NODE_NAME).{service.Metadata.Name}", env["FSC_PUBLIC_HOSTNAME"].Value);
                Assert.True(container.Env.ToList().FindIndex(e => e.Name == "FSC_NODE_NAME") < container.Env.ToList().FindIndex(e => e.Name == "FSC_PUBLIC_HOSTNAME"),
                    "FSC_NODE_NAME must come before FSC_PUBLIC_HOSTNAME, which refers to it");
            }
            else
            {
                Assert.Equal("status.podIP", env["FSC_PUBLIC_HOSTNAME"].ValueFrom.FieldRef.FieldPath);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_config_map_holds_config_faceswap_conf_where_FSC_CONFIG_points(string overlay)
    {
        var farm = await Render(overlay);
        var repository = File.ReadAllText(ConfigFile);
        var copy = Path.Combine(K8s, "base", "faceswap.conf");
        if (File.ReadAllText(copy) != repository)
            Assert.Fail($"{copy} differs from {ConfigFile}: kustomize reads only the copy, so copy it again (cp config/faceswap.conf k8s/base/).");

        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            var file = Literal(farm, container, "FSC_CONFIG") ?? throw new InvalidOperationException($"{overlay}: {role} sets no FSC_CONFIG");
            var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == Path.GetDirectoryName(file));
            var volume = Assert.Single(template.Spec.Volumes, v => v.Name == mount.Name);
            Assert.NotNull(volume.ConfigMap);
            var map = Assert.Single(farm.Of<V1ConfigMap>(), c => c.Metadata.Name == volume.ConfigMap.Name);
            var text = map.Data[Path.GetFileName(file)];
            Assert.Equal(repository, text);
            Assert.False(ConfigurationFactory.ParseString(text).IsEmpty);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Only_the_gpu_overlay_asks_for_GPUs_and_keeps_the_TensorRT_engines(string overlay)
    {
        var farm = await Render(overlay);
        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            var asks = (container.Resources?.Limits?.ContainsKey("nvidia.com/gpu") ?? false) || (container.Resources?.Requests?.ContainsKey("nvidia.com/gpu") ?? false);
            Assert.Equal(overlay == "gpu" && role == Roles.Worker, asks);
            if (!(overlay == "gpu" && role == Roles.Worker))
            {
                Assert.True(template.Spec.NodeSelector is null || !template.Spec.NodeSelector.Keys.Any(k => k.StartsWith("nvidia.com/", StringComparison.Ordinal)));
                continue;
            }
            Assert.Equal(1, container.Resources!.Limits["nvidia.com/gpu"].ToInt32());
            Assert.Equal("true", template.Spec.NodeSelector["nvidia.com/gpu.present"]);
            Assert.Contains(template.Spec.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");

            // ONNX Runtime's TensorRT provider caches engines in tensorrt-cache beside the model files (ModelSession),
            // in the store the GPU image sets.
            var store = Stage(Dockerfile("gpu-worker.Dockerfile"), "gpu").Env["FSC_MODEL_STORE"];
            var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == $"{store}/tensorrt-cache");
            var claim = Assert.Single(template.Spec.Volumes, v => v.Name == mount.Name).PersistentVolumeClaim;
            Assert.NotNull(claim);
            Assert.Single(farm.Of<V1PersistentVolumeClaim>(), c => c.Metadata.Name == claim.ClaimName);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task PreStop_leaves_the_cluster_through_the_node_own_endpoint_with_the_token(string overlay)
    {
        var farm = await Render(overlay);
        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            var management = ManagementSettings.From(EffectiveConfig(farm, container), $"{overlay}: {role}");
            Same($"fsc cluster leave --host 127.0.0.1:{management.Port}", string.Join(' ', container.Lifecycle?.PreStop?.Exec?.Command ?? []),
                $"{overlay}: {role}: the preStop command");
            // fsc and the node read the tokens from the file the Secret is mounted as (rotated in place).
            var tokenFile = Literal(farm, container, "FSC_MANAGEMENT_TOKEN_FILE");
            Assert.False(string.IsNullOrEmpty(tokenFile), $"{overlay}: {role}: no FSC_MANAGEMENT_TOKEN_FILE");
            var mount = Assert.Single(container.VolumeMounts, m => tokenFile!.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
            Assert.Equal("faceswap-management", Assert.Single(template.Spec.Volumes, v => v.Name == mount.Name).Secret.SecretName);
            Assert.True(template.Spec.TerminationGracePeriodSeconds >= 30, $"{overlay}: {role}: too short a grace period to hand over");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_autoscaler_scales_the_worker_deployment_on_stream_demand_below_its_capacity(string overlay)
    {
        var farm = await Render(overlay);
        var hpa = Assert.Single(farm.Of<V2HorizontalPodAutoscaler>());
        var workers = farm.Workloads.Single(w => w.Role == Roles.Worker);
        Assert.Equal("Deployment", hpa.Spec.ScaleTargetRef.Kind);
        Assert.Equal("apps/v1", hpa.Spec.ScaleTargetRef.ApiVersion);
        Assert.Equal(workers.Name, hpa.Spec.ScaleTargetRef.Name);
        Assert.Null(Assert.Single(farm.Of<V1Deployment>(), d => d.Metadata.Name == workers.Name).Spec.Replicas);
        Assert.True(hpa.Spec.MinReplicas >= 2 && hpa.Spec.MaxReplicas > hpa.Spec.MinReplicas);

        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal("External", metric.Type);
        Assert.Equal("AverageValue", metric.External.Target.Type);
        // Per worker, below what each worker declares it carries: workers are added before admission refuses streams.
        var worker = Assert.Single(workers.Template.Spec.Containers);
        var capacity = EffectiveConfig(farm, worker).GetDouble("faceswap.worker.placement.capacity-fps");
        Assert.InRange((double)metric.External.Target.AverageValue.ToDecimal(), 1, capacity);

        // prometheus-adapter serves the metric, from the frames the edges offer.
        var adapter = File.ReadAllText(Path.Combine(K8s, "monitoring", "prometheus-adapter.yaml"));
        Assert.Contains($"as: {metric.External.Metric.Name}", adapter);
        Assert.Contains("faceswap_frames_offered_total", adapter);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Each_disruption_budget_selects_the_pods_of_one_role(string overlay)
    {
        var farm = await Render(overlay);
        var budgets = farm.Of<V1PodDisruptionBudget>();
        foreach (var (role, _, template) in farm.Workloads)
        {
            var selecting = budgets.Where(b => Selects(b.Spec.Selector.MatchLabels, template)).Select(b => b.Metadata.Name).ToList();
            Assert.True(selecting.Count == 1, $"{overlay}: {role}: {selecting.Count} PodDisruptionBudgets select its pods ({string.Join(", ", selecting)}); one should");
            var budget = budgets.Single(b => b.Metadata.Name == selecting[0]);
            Assert.Equal(1, int.Parse(budget.Spec.MaxUnavailable.Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.All(farm.Workloads.Where(w => w.Role != role), other => Assert.False(Selects(budget.Spec.Selector.MatchLabels, other.Template)));
        }
        Assert.Equal(farm.Workloads.Count, budgets.Count);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_secret_the_pods_name_is_one_k8s_secrets_makes_and_none_is_committed(string overlay)
    {
        var farm = await Render(overlay);
        Assert.Empty(farm.Of<V1Secret>());
        var made = SecretGenerators();
        foreach (var (role, _, template) in farm.Workloads)
        {
            var container = Assert.Single(template.Spec.Containers);
            foreach (var reference in container.Env.Select(e => e.ValueFrom?.SecretKeyRef).OfType<V1SecretKeySelector>())
                Assert.True(made.TryGetValue(reference.Name, out var keys) && keys.Contains(reference.Key),
                    $"{overlay}: {role} reads key '{reference.Key}' of Secret '{reference.Name}', which k8s/secrets does not make");
            foreach (var secret in template.Spec.Volumes.Select(v => v.Secret).OfType<V1SecretVolumeSource>())
                Assert.True(made.ContainsKey(secret.SecretName), $"{overlay}: {role} mounts Secret '{secret.SecretName}', which k8s/secrets does not make");
        }
    }

    // ---- Docker -----------------------------------------------------------------------------------------------------

    public static TheoryData<string, string, string> Images => new()
    {
        { "seed.Dockerfile", "runtime", Roles.Seed },
        { "edge.Dockerfile", "runtime", Roles.Edge },
        { "gpu-worker.Dockerfile", "cpu", Roles.Worker },
        { "gpu-worker.Dockerfile", "gpu", Roles.Worker },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Each_image_runs_the_node_with_its_role_and_carries_fsc(string file, string target, string role)
    {
        var dockerfile = Dockerfile(file);
        var stage = Stage(dockerfile, target);
        Assert.Equal(["faceswap-node", "run"], JsonSerializer.Deserialize<string[]>(stage.Single("ENTRYPOINT"))!);
        Assert.Equal(role, stage.Env["FSC_ROLES"]);
        NodeSettings.CheckRoles(NodeSettings.Split(stage.Env["FSC_ROLES"]), $"{file} {target}: FSC_ROLES");
        // The node and fsc (the preStop leave), published into the folder the image copies, which is on PATH.
        var from = Regex.Match(stage.Instructions.Single(i => i.Keyword == "COPY" && i.Arguments.EndsWith(" /out/app /app/bin", StringComparison.Ordinal)).Arguments,
            @"^--from=(\S+) ").Groups[1].Value;
        var published = Publishes(Stage(dockerfile, from)).ToList();
        foreach (var project in new[] { "src/FaceSwap.Node", "src/FaceSwap.Cli" })
            Assert.Contains(published, p => p.Project == project && p.Command.Contains("-o /out/app ", StringComparison.Ordinal));
        Assert.StartsWith("/app/bin:", stage.Env["PATH"]);
        Assert.Contains(stage.Instructions, i => i.Keyword == "USER");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Each_image_caps_glibc_malloc_arenas_as_faceswap_node_does(string file, string target, string role)
    {
        // glibc's default (a malloc arena per allocating thread, up to 8 per core, each keeping what it freed) made a
        // node's RSS climb with nothing leaking (BENCHMARKS.md, Soak); the repository's launcher sets the same cap.
        Assert.True(Stage(Dockerfile(file), target).Env.TryGetValue("MALLOC_ARENA_MAX", out var max), $"{file} {target} ({role}) does not set MALLOC_ARENA_MAX");
        Assert.Equal("2", max);
        Assert.Contains("export MALLOC_ARENA_MAX=\"${MALLOC_ARENA_MAX:-2}\"", File.ReadAllText(Path.Combine(TestPaths.Root, "faceswap-node")));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Only_the_gpu_target_publishes_with_ONNX_Runtime_GPU(string file, string target, string role)
    {
        var dockerfile = Dockerfile(file);
        // The stage the node's binaries come from, and its publish of FaceSwap.Node.
        var from = Regex.Match(Stage(dockerfile, target).Instructions.Single(i => i.Keyword == "COPY" && i.Arguments.EndsWith(" /app/bin", StringComparison.Ordinal)).Arguments,
            @"--from=(\S+)").Groups[1].Value;
        var publish = Publishes(Stage(dockerfile, from)).Single(p => p.Project == "src/FaceSwap.Node");
        Assert.Equal(target == "gpu", publish.Command.Contains("-p:OnnxRuntimeGpu=true", StringComparison.Ordinal));
        if (role != Roles.Worker) Assert.DoesNotContain("OnnxRuntimeGpu", dockerfile.Text);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Exposed_ports_match_the_config_and_env_names_are_read_by_the_code(string file, string target, string role)
    {
        var stage = Stage(Dockerfile(file), target);
        var config = ConfigurationFactory.ParseString(File.ReadAllText(ConfigFile));
        var exposed = stage.Instructions.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).Order();
        Assert.Equal(new[] { config.GetInt("faceswap.node.port"), ManagementSettings.From(config, ConfigFile).Port }.Order(), exposed);
        var unknown = stage.Env.Keys.Where(name => name.StartsWith("FSC_", StringComparison.Ordinal) && !EnvironmentVariables.ContainsKey(name)).ToList();
        Assert.True(unknown.Count == 0, $"{file} {target} ({role}) sets {string.Join(", ", unknown)}, which no code reads");
    }

    public static TheoryData<string> Dockerfiles => new() { "seed.Dockerfile", "edge.Dockerfile", "gpu-worker.Dockerfile" };

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_COPY_source_and_published_project_is_in_the_repository_and_the_build_context(string file)
    {
        var dockerfile = Dockerfile(file);
        var ignore = DockerIgnore();
        foreach (var stage in dockerfile.Stages)
        {
            foreach (var copy in stage.Instructions.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from=", StringComparison.Ordinal)))
            {
                var words = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
                foreach (var source in words[..^1])
                {
                    var path = Path.Combine(TestPaths.Root, source);
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"{file} stage {stage.Name}: COPY {source}: no such file in the repository");
                    Assert.False(ignore(source.TrimEnd('/')), $"{file} stage {stage.Name}: COPY {source}: .dockerignore leaves it out of the build context");
                }
            }
            foreach (var (project, _) in Publishes(stage))
                Assert.True(File.Exists(Path.Combine(TestPaths.Root, project, Path.GetFileName(project) + ".csproj")), $"{file}: dotnet publish {project}: no such project");
        }
        // Both binaries, in every image (the node and fsc for the preStop leave).
        Assert.Equal(["src/FaceSwap.Cli", "src/FaceSwap.Node"], dockerfile.Stages.SelectMany(Publishes).Select(p => p.Project).Distinct().Order(StringComparer.Ordinal));
    }

    // ---- kubectl kustomize and the rendered farm ---------------------------------------------------------------------

    private sealed record Workload(string Role, string Name, V1PodTemplateSpec Template);

    private sealed class Farm(IReadOnlyList<object> objects)
    {
        public IReadOnlyList<object> Objects { get; } = objects;

        public List<T> Of<T>() => Objects.OfType<T>().ToList();

        public IReadOnlyList<Workload> Workloads { get; } =
        [
            .. objects.OfType<V1StatefulSet>().Select(s => new Workload(Role(s.Spec.Template), s.Metadata.Name, s.Spec.Template)),
            .. objects.OfType<V1Deployment>().Select(d => new Workload(Role(d.Spec.Template), d.Metadata.Name, d.Spec.Template)),
        ];
    }

    private static readonly ConcurrentDictionary<string, Lazy<Task<(Farm Farm, string Log)>>> Rendered = new();

    /// <summary>The overlay as kubectl renders it (once per test run), every document read into the client's model types.</summary>
    private async Task<Farm> Render(string overlay)
    {
        var (farm, log) = await Rendered.GetOrAdd(overlay, o => new Lazy<Task<(Farm, string)>>(() => Kustomize(o))).Value;
        output.WriteLine(log);
        return farm;
    }

    private static async Task<(Farm, string)> Kustomize(string overlay)
    {
        var fetched = Path.Combine(TestPaths.Root, ".cache", "bin", "kubectl"); // scripts/setup.sh's, where the machine has none
        var kubectl = FindOnPath("kubectl") ?? (File.Exists(fetched) ? fetched : null) ?? throw new InvalidOperationException(KubectlMissing);
        var directory = Path.Combine(K8s, "overlays", overlay);
        var start = new ProcessStartInfo(kubectl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "kustomize", directory }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {kubectl}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(KubectlTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl kustomize {directory} did not finish within {KubectlTimeout}.");
        }
        var yaml = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"kubectl kustomize {directory} failed (exit {process.ExitCode}): {errors}");
        // Strict: a field the API does not have (a misspelt probe, say) fails here instead of being dropped.
        var objects = KubernetesYaml.LoadAllFromString(yaml, strict: true);
        Assert.DoesNotContain(objects, o => o is null);
        var kinds = objects.GroupBy(o => o.GetType().Name).Select(g => $"{g.Count()} {g.Key}").Order(StringComparer.Ordinal);
        return (new Farm(objects), $"$ kubectl kustomize k8s/overlays/{overlay}: {string.Join(", ", kinds)}{(errors.Length > 0 ? "\n" + errors : "")}");
    }

    private static void Same<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual)) Assert.Fail($"{what}: expected {expected}, found {actual}");
    }

    private static string Role(V1PodTemplateSpec template) => template.Metadata.Labels["app.kubernetes.io/component"];

    private static bool Selects(IDictionary<string, string> selector, V1PodTemplateSpec template) =>
        selector.Count > 0 && selector.All(label => template.Metadata.Labels.TryGetValue(label.Key, out var value) && value == label.Value);

    private static int Port(V1Container container, string name) => Assert.Single(container.Ports, p => p.Name == name).ContainerPort;

    private static void Probe(V1Container container, V1Probe? probe, string path, int port, string where)
    {
        Assert.True(probe?.HttpGet is not null, $"{where}: no HTTP probe for {path}");
        Same(path, probe.HttpGet.Path, $"{where}: probe path");
        var target = probe.HttpGet.Port.Value;
        Same(port, int.TryParse(target, out var number) ? number : Port(container, target), $"{where}: port of the {path} probe");
    }

    /// <summary>Every variable the container gets, from its env and its envFrom ConfigMaps: the literal value, or null where it comes from a reference.</summary>
    private static Dictionary<string, string?> Environment(Farm farm, V1Container container)
    {
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            Assert.Null(source.SecretRef);
            var map = Assert.Single(farm.Of<V1ConfigMap>(), c => c.Metadata.Name == source.ConfigMapRef.Name);
            foreach (var (name, value) in map.Data) variables[name] = value;
        }
        foreach (var variable in container.Env ?? []) variables[variable.Name] = variable.ValueFrom is null ? variable.Value : null;
        return variables;
    }

    private static string? Literal(Farm farm, V1Container container, string name) => Environment(farm, container).GetValueOrDefault(name);

    /// <summary>The config the container's node runs with: config/faceswap.conf, and the literal environment overrides over it.</summary>
    private static Config EffectiveConfig(Farm farm, V1Container container)
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(ConfigFile));
        foreach (var (name, value) in Environment(farm, container))
            if (value is not null && !value.Contains("$(", StringComparison.Ordinal) && EnvironmentVariables.GetValueOrDefault(name) is { } path)
                config = ConfigurationFactory.ParseString($"{path} = \"{value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"").WithFallback(config);
        return config;
    }

    private sealed class Kustomization
    {
        public List<SecretGenerator> SecretGenerator { get; set; } = [];
    }

    private sealed class SecretGenerator
    {
        public string Name { get; set; } = "";
        public List<string> Files { get; set; } = [];
    }

    /// <summary>The Secrets k8s/secrets/kustomization.yaml makes: name → keys (files given as key=path).</summary>
    private static Dictionary<string, HashSet<string>> SecretGenerators()
    {
        var kustomization = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).IgnoreUnmatchedProperties().Build()
            .Deserialize<Kustomization>(File.ReadAllText(Path.Combine(K8s, "secrets", "kustomization.yaml")));
        return kustomization.SecretGenerator.ToDictionary(g => g.Name, g => g.Files.Select(f => f.Split('=')[0]).ToHashSet(StringComparer.Ordinal));
    }

    private static string? FindOnPath(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    // ---- Dockerfiles ------------------------------------------------------------------------------------------------

    private sealed record Instruction(string Keyword, string Arguments);

    private sealed record DockerStage(string Name, string Base, IReadOnlyList<Instruction> Instructions)
    {
        public string Single(string keyword) => Instructions.Single(i => i.Keyword == keyword).Arguments;

        /// <summary>The stage's ENV, as a process in it sees them (a stage built FROM another inherits them; not needed here).</summary>
        public IReadOnlyDictionary<string, string> Env { get; } = Instructions.Where(i => i.Keyword == "ENV")
            .SelectMany(i => EnvPair().Matches(i.Arguments)).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Groups["bare"].Value);
    }

    private sealed record DockerfileText(string Text, IReadOnlyList<DockerStage> Stages);

    [GeneratedRegex(@"(?<name>\w+)=(?:""(?<quoted>[^""]*)""|(?<bare>\S*))")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"^FROM\s+(?:--\S+\s+)*(?<base>\S+)(?:\s+AS\s+(?<name>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex From();

    [GeneratedRegex(@"dotnet publish (?<project>\S+)[^&]*")]
    private static partial Regex Publish();

    /// <summary>Instructions by stage: comments dropped, continuation lines joined.</summary>
    private static DockerfileText Dockerfile(string file)
    {
        var text = File.ReadAllText(Path.Combine(Docker, file));
        var logical = Regex.Replace(string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#'))), @"\\\n\s*", " ");
        var stages = new List<(string Name, string Base, List<Instruction> Instructions)>();
        foreach (var line in logical.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
        {
            var keyword = line.Split(' ')[0].ToUpperInvariant();
            if (keyword == "FROM")
            {
                var match = From().Match(line);
                Assert.True(match.Success, $"{file}: cannot read '{line}'");
                stages.Add((match.Groups["name"].Success ? match.Groups["name"].Value : $"stage{stages.Count}", match.Groups["base"].Value, []));
                continue;
            }
            Assert.True(stages.Count > 0, $"{file}: '{line}' before any FROM");
            stages[^1].Instructions.Add(new Instruction(keyword, line[keyword.Length..].Trim()));
        }
        return new DockerfileText(text, [.. stages.Select(s => new DockerStage(s.Name, s.Base, s.Instructions))]);
    }

    private static DockerStage Stage(DockerfileText dockerfile, string name) => Assert.Single(dockerfile.Stages, s => s.Name == name);

    private static IEnumerable<(string Project, string Command)> Publishes(DockerStage stage) =>
        stage.Instructions.Where(i => i.Keyword == "RUN").SelectMany(i => Publish().Matches(i.Arguments)).Select(m => (m.Groups["project"].Value.TrimEnd('/'), m.Value));

    /// <summary>Whether .dockerignore leaves <paramref name="path"/> out of the build context: the last pattern matching it or a folder above it decides.</summary>
    private static Func<string, bool> DockerIgnore()
    {
        var rules = File.ReadAllLines(Path.Combine(TestPaths.Root, ".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (Include: l.StartsWith('!'), Pattern: new Regex("^" + Regex.Escape(l.TrimStart('!').Trim('/'))
                .Replace(@"\*\*/", "(?:.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$")))
            .ToList();
        return path =>
        {
            var segments = path.Split('/');
            var prefixes = Enumerable.Range(1, segments.Length).Select(n => string.Join('/', segments[..n])).ToList();
            var excluded = false;
            foreach (var (include, pattern) in rules)
                if (prefixes.Any(pattern.IsMatch))
                    excluded = !include;
            return excluded;
        };
    }
}
