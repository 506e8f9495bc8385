using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The Prometheus rules and the Grafana dashboard in k8s/monitoring: promtool accepts the rules and passes their
/// unit tests, every alert has a test, and the rules and the dashboard read only metrics the nodes export.
/// </summary>
public sealed partial class AlertRuleTests(ITestOutputHelper output)
{
    private static readonly string Monitoring = Path.Combine(TestPaths.Root, "k8s", "monitoring");
    private static readonly string Rules = Path.Combine(Monitoring, "faceswap-alerts.yaml");
    private static readonly string RuleTests = Path.Combine(Monitoring, "faceswap-alerts.test.yaml");
    private static readonly string Dashboard = Path.Combine(Monitoring, "grafana-dashboard.json");
    private static readonly TimeSpan PromtoolTimeout = TimeSpan.FromMinutes(1);

    // The names the nodes export (NodeMetrics); MetricsTests checks that the nodes really export them.
    private static readonly string[] ExportedMetrics =
    [
        "faceswap_node_info",
        "faceswap_node_ready",
        "faceswap_cluster_members",
        "faceswap_cluster_unreachable_members",
        "faceswap_stage_latency_seconds",
        "faceswap_stream_budget_seconds",
        "faceswap_frames_offered_total",
        "faceswap_frames_emitted_total",
        "faceswap_frames_dropped_total",
        "faceswap_streams_active",
        "faceswap_edge_queue_depth",
        "faceswap_admission_refusals_total",
        "faceswap_batch_size",
        "faceswap_batch_queue_depth",
        "faceswap_batch_expired_total",
        "faceswap_model_loaded",
        "faceswap_model_load_failures_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ];

    // The alerts operators and runbooks refer to by name.
    private static readonly string[] RequiredAlerts =
        ["FaceSwapWorkerDown", "FaceSwapDropsHigh", "FaceSwapLatencyOverBudget", "FaceSwapModelLoadFailures"];

    // A histogram is queried through its series, never by its own name.
    private static readonly string[] Histograms = ["faceswap_stage_latency_seconds", "faceswap_batch_size"];
    private static readonly string[] HistogramSuffixes = ["_bucket", "_sum", "_count"];

    private const string PromtoolMissing =
        "promtool is not on PATH: install the Debian package `prometheus` (apt-get install --no-install-recommends " +
        "prometheus); CI installs it in scripts/setup.sh.";

    [GeneratedRegex(@"- alert: (\w+)")]
    private static partial Regex AlertRule();

    [GeneratedRegex(@"alertname: (\w+)")]
    private static partial Regex AlertTest();

    // Not the middle of a recorded name such as instance:faceswap_frames_offered:rate5m.
    [GeneratedRegex(@"(?<![\w:])(?:faceswap|process)_\w+(?![\w:])")]
    private static partial Regex MetricName();

    [Fact]
    public async Task Promtool_accepts_the_rule_file()
    {
        var (exitCode, _) = await Promtool("check", "rules", Path.GetFileName(Rules));
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task The_rule_unit_tests_pass()
    {
        // From the folder: the test file names the rule file relative to itself.
        var (exitCode, text) = await Promtool("test", "rules", Path.GetFileName(RuleTests));
        Assert.Equal(0, exitCode);
        Assert.Contains("SUCCESS", text);
    }

    [Fact]
    public void Every_alert_has_a_unit_test_and_every_test_an_alert()
    {
        var alerts = AlertRule().Matches(File.ReadAllText(Rules)).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var tested = AlertTest().Matches(File.ReadAllText(RuleTests)).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var absent = RequiredAlerts.Where(alert => !alerts.Contains(alert)).ToList();
        if (absent.Count > 0)
            Assert.Fail($"{Path.GetFileName(Rules)} lacks the alerts {string.Join(", ", absent)}.");

        var untested = alerts.Except(tested).Order(StringComparer.Ordinal).ToList();
        if (untested.Count > 0)
            Assert.Fail($"Alerts in {Path.GetFileName(Rules)} with no alert_rule_test in {Path.GetFileName(RuleTests)}: {string.Join(", ", untested)}.");
        // promtool passes a test of an alert that does not exist when it expects no alerts, so a typo would hide.
        var unknown = tested.Except(alerts).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            Assert.Fail($"{Path.GetFileName(RuleTests)} tests alerts {Path.GetFileName(Rules)} does not define: {string.Join(", ", unknown)}.");
    }

    [Fact]
    public void The_rules_and_the_dashboard_read_only_metrics_the_nodes_export()
    {
        foreach (var file in new[] { Rules, Dashboard })
        {
            var names = MetricName().Matches(File.ReadAllText(file)).Select(m => m.Value).Distinct(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(names);
            var unknown = names.Where(name => !IsExported(name)).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
                Assert.Fail($"{Path.GetFileName(file)} reads metrics no node exports: {string.Join(", ", unknown)}. " +
                            $"Fix the name there, or export the metric and add it to {nameof(ExportedMetrics)}.");
        }
    }

    private static bool IsExported(string name) =>
        ExportedMetrics.Contains(name, StringComparer.Ordinal)
        || HistogramSuffixes.Any(suffix => name.EndsWith(suffix, StringComparison.Ordinal)
                                           && Histograms.Contains(name[..^suffix.Length], StringComparer.Ordinal));

    /// <summary>Runs promtool in k8s/monitoring; its output goes to the test's output, which the runner shows on failure.</summary>
    private async Task<(int ExitCode, string Text)> Promtool(params string[] arguments)
    {
        var promtool = FindOnPath("promtool") ?? throw new InvalidOperationException(PromtoolMissing);
        var start = new ProcessStartInfo(promtool)
        {
            WorkingDirectory = Monitoring,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {promtool}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(PromtoolTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', arguments)} in {Monitoring} did not finish within {PromtoolTimeout}.");
        }

        var text = await stdout + await stderr;
        output.WriteLine($"$ promtool {string.Join(' ', arguments)}   (in {Monitoring}, exit {process.ExitCode})");
        output.WriteLine(text);
        return (process.ExitCode, text);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
