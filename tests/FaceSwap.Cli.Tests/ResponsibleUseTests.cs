using System.Diagnostics;
using System.Text.Json.Nodes;
using FaceSwap.Vision.Video;

namespace FaceSwap.Cli.Tests;

/// <summary>
/// A config of its own (temp databases, keys and identity store, via $FSC_CONFIG), the signing key and the average
/// identity made once for the class.
/// </summary>
public sealed class GovernedInstall : IDisposable
{
    public GovernedInstall()
    {
        Config = WriteConfig("faceswap.conf", labelEnabled: true);
        Environment.SetEnvironmentVariable("FSC_CONFIG", Config);
        Check(ModelsCommandTests.Fsc("keys", "generate"));
        Check(ModelsCommandTests.Fsc("identities", "make-average"));
    }

    public TestPaths.TempDir Dir { get; } = new();
    public string Config { get; }

    public string WriteConfig(string name, bool labelEnabled)
    {
        var d = Dir.Path;
        var path = Path.Combine(d, name);
        File.WriteAllText(path, $$"""
            faceswap {
              node-name = "test-node"
              marks.label.enabled = {{(labelEnabled ? "on" : "off")}}
              provenance { signing-key = "{{d}}/keys/private.pem", trusted-keys = ["{{d}}/keys/public.pem"] }
              governance { consent-database = "Data Source={{d}}/consent.db", audit-database = "Data Source={{d}}/audit.db" }
              identities.store = "{{d}}/identities"
            }
            """);
        return path;
    }

    public static void Check((int Exit, string Out, string Err) run) => Assert.True(run.Exit == 0, run.Out + run.Err);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("FSC_CONFIG", null);
        Dir.Dispose();
    }
}

/// <summary>Consent, marks, provenance and audit as a user of fsc meets them, run in-process (and one job in a child process).</summary>
[Collection("console")]
public sealed class ResponsibleUseTests(GovernedInstall install) : IClassFixture<GovernedInstall>
{
    private static (int Exit, string Out, string Err) Fsc(params string[] args) => ModelsCommandTests.Fsc(args);
    private static string Sample(int n) => Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg");
    private static string Astronaut => Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png");

    private string Out(string name) => Path.Combine(install.Dir.Path, name);

    private string Register(params string[] extra)
    {
        var (exit, stdout, stderr) = Fsc(["identities", "add", Astronaut, "--consent-by", "Test Person", .. extra]);
        Assert.True(exit == 0, stdout + stderr);
        return stdout.Trim().Split('\n')[^1].Trim(); // the id is the last line
    }

    [Fact]
    public void A_swap_is_marked_signed_and_audited_and_verify_says_so()
    {
        var output = Out("marked.jpg");
        var (exit, stdout, stderr) = Fsc("swap", "--identity", "average", "--target", Sample(2), "-o", output);
        Assert.True(exit == 0, stdout + stderr);
        var session = stdout.Split("session ")[1][..12];

        (exit, stdout, _) = Fsc("verify", output);
        Assert.Equal(0, exit);
        Assert.Contains($"watermark: marked (node 0x", stdout);
        Assert.Contains($"session 0x{session}", stdout);
        Assert.Contains($"provenance: valid", stdout);

        var audit = Fsc("audit", "--session", session).Out;
        Assert.Contains("session-start", audit);
        Assert.Contains("completed: 1 frame(s)", audit);
        Assert.DoesNotContain("label-off", audit);
    }

    [Fact]
    public void Verify_fails_on_an_edited_sidecar_an_edited_output_and_an_unmarked_photo()
    {
        var output = Out("edited.jpg");
        GovernedInstall.Check(Fsc("swap", "--identity", "average", "--target", Sample(5), "-o", output));
        var sidecar = output + ".provenance.json";
        var original = File.ReadAllText(sidecar);

        var edited = JsonNode.Parse(original)!;
        edited["record"]!["node"] = "another-node";
        File.WriteAllText(sidecar, edited.ToJsonString());
        var (exit, stdout, _) = Fsc("verify", output);
        Assert.Equal(1, exit);
        Assert.Contains("provenance: BadSignature", stdout);

        File.WriteAllText(sidecar, original);
        File.AppendAllText(output, "x");
        (exit, stdout, _) = Fsc("verify", output);
        Assert.Equal(1, exit);
        Assert.Contains("provenance: OutputMismatch", stdout);

        (exit, stdout, _) = Fsc("verify", Sample(5));
        Assert.Equal(1, exit);
        Assert.Contains("watermark: not marked", stdout);
    }

    [Fact]
    public void Unregistered_out_of_scope_expired_and_revoked_identities_are_refused_and_audited()
    {
        var (exit, _, stderr) = Fsc("swap", "--identity", "id-nobody12345", "--target", Sample(2), "-o", Out("refused.jpg"));
        Assert.Equal(1, exit);
        Assert.Contains("id-nobody12345", stderr);

        var streamOnly = Register("--scope", "stream");
        (exit, _, stderr) = Fsc("swap", "--identity", streamOnly, "--target", Sample(2), "-o", Out("refused.jpg"));
        Assert.Equal(1, exit);
        Assert.Contains("stream", stderr);

        var brief = Register("--scope", "file", "--expires", "0.02m"); // 1.2 s
        Thread.Sleep(1500);
        (exit, _, stderr) = Fsc("swap", "--identity", brief, "--target", Sample(2), "-o", Out("refused.jpg"));
        Assert.Equal(1, exit);
        Assert.Contains("expired", stderr, StringComparison.OrdinalIgnoreCase);

        var revoked = Register("--scope", "file,stream");
        Assert.True(File.Exists(Path.Combine(install.Dir.Path, "identities", revoked, "face.png")));
        GovernedInstall.Check(Fsc("identities", "revoke", revoked, "--reason", "test"));
        Assert.False(Directory.Exists(Path.Combine(install.Dir.Path, "identities", revoked)), "the revoked identity's face data is still stored");
        (exit, _, stderr) = Fsc("swap", "--identity", revoked, "--target", Sample(2), "-o", Out("refused.jpg"));
        Assert.Equal(1, exit);
        Assert.Contains("revoked", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Out("refused.jpg")));

        var list = Fsc("identities", "list").Out;
        Assert.Contains($"{revoked,-16} revoked", list);
        Assert.DoesNotContain("Test Person", list.Split('\n').Single(l => l.StartsWith(revoked)));
        var refusals = Fsc("audit", "--kind", "swap-refused").Out.Split('\n').Count(l => l.Contains("swap-refused"));
        Assert.True(refusals >= 4, $"{refusals} refusals audited");
    }

    [Fact]
    public void A_revoke_from_another_process_stops_a_running_file_job_within_a_second()
    {
        var id = Register("--scope", "file");
        var clip = Out("long.mp4");
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-y", "-loop", "1", "-framerate", "25", "-t", "30", "-i", Sample(5),
            "-vf", "scale=640:480", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip], clip);
        var output = Out("long-swapped.mp4");
        using var log = FaceSwap.Governance.Audit.AuditLog.OpenFile(Path.Combine(install.Dir.Path, "audit.db"));

        // fsc swap in a child process, as an operator would run it; its output is collected as it comes.
        var (jobOut, jobErr) = (new System.Text.StringBuilder(), new System.Text.StringBuilder());
        using var job = Child(["swap", "--identity", id, "--target", clip, "-o", output], jobOut, jobErr);
        // Wait for the session to start, then let it swap for a while.
        var waited = Stopwatch.StartNew();
        while (!log.Query(new FaceSwap.Governance.Audit.AuditFilter(Identity: id, Kind: "session-start")).Any())
        {
            Assert.False(job.HasExited, $"the job ended before its session started: {jobOut}{jobErr}");
            Assert.True(waited.Elapsed < TimeSpan.FromMinutes(2), "the job's session did not start");
            Thread.Sleep(50);
        }
        Thread.Sleep(3000);
        Assert.False(job.HasExited, $"the job ended before the revoke: {jobOut}{jobErr}");

        // The operator revokes from another shell: a second process.
        var (revokeOut, revokeErr) = (new System.Text.StringBuilder(), new System.Text.StringBuilder());
        using (var revoker = Child(["identities", "revoke", id, "--reason", "test: withdrawn mid-job"], revokeOut, revokeErr))
        {
            Assert.True(revoker.WaitForExit(60_000), "the revoke did not finish");
            Assert.True(revoker.ExitCode == 0, $"{revokeOut}{revokeErr}");
        }
        Assert.True(job.WaitForExit(60_000), "the job did not stop");
        job.WaitForExit(); // drains the output events
        Assert.True(job.ExitCode == 1, $"exit {job.ExitCode}; job: {jobOut}{jobErr}");
        Assert.Contains("revoked", jobErr.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(output), "the partial output was left behind");
        Assert.False(File.Exists(output + ".provenance.json"), "a sidecar for a job that did not finish");

        // The audit log's own clock: from the revoke to the job's stop.
        var events = log.Query(new FaceSwap.Governance.Audit.AuditFilter(Identity: id));
        var revoked = events.Single(e => e.Kind == "identity-revoked");
        var stopped = events.Single(e => e.Kind == "session-stop");
        Assert.StartsWith("stopped:", stopped.Details);
        Assert.InRange((stopped.At - revoked.At).TotalSeconds, 0, 1.0);
    }

    private static Process Child(string[] args, System.Text.StringBuilder stdout, System.Text.StringBuilder stderr)
    {
        var child = new Process { StartInfo = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "fsc.dll"), .. args]) { RedirectStandardError = true, RedirectStandardOutput = true } };
        child.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
        child.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }

    [Fact]
    public void Turning_the_label_off_in_config_is_audited_and_the_output_is_still_watermarked()
    {
        var config = install.WriteConfig("label-off.conf", labelEnabled: false);
        Environment.SetEnvironmentVariable("FSC_CONFIG", config);
        try
        {
            var output = Out("unlabelled.jpg");
            var (exit, stdout, stderr) = Fsc("swap", "--identity", "average", "--target", Sample(2), "-o", output);
            Assert.True(exit == 0, stdout + stderr);
            var session = stdout.Split("session ")[1][..12];
            Assert.Contains("label-off", Fsc("audit", "--session", session, "--kind", "label-off").Out);
            Assert.Equal(0, Fsc("verify", output).Exit);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSC_CONFIG", install.Config);
        }
    }

    [Theory]
    [InlineData("--swapper", "inswapper_128")]
    [InlineData("--swapper", "simswap_256")]
    [InlineData("--enhancer", "gfpgan_1.4")]
    [InlineData("--detector", "scrfd_10g")]
    public void A_bring_your_own_model_missing_from_the_store_is_named_with_the_command_that_adds_it(string option, string preset)
    {
        var (exit, _, stderr) = Fsc("swap", "--identity", "average", "--target", Sample(2), "-o", Out("neural.jpg"), option, preset);
        Assert.Equal(1, exit);
        Assert.Contains($"fsc models add FILE.onnx --preset {preset}", stderr);
        Assert.False(File.Exists(Out("neural.jpg")));
    }

    [Fact]
    public void Doctor_reports_each_stage_and_fails_when_the_default_pack_is_missing()
    {
        var (exit, stdout, _) = Fsc("doctor");
        Assert.True(exit == 0, stdout);
        Assert.Contains("ok    default pack facemesh: sha256", stdout);
        Assert.Contains("off   enhancement: no enhancer model: the enhancement stage does nothing", stdout);
        Assert.Contains("ok    signing key:", stdout);
        Assert.Contains("hash chain intact", stdout);

        var empty = Path.Combine(install.Dir.Path, "empty-store");
        Directory.CreateDirectory(empty);
        var store = Environment.GetEnvironmentVariable("FSC_MODEL_STORE");
        Environment.SetEnvironmentVariable("FSC_MODEL_STORE", empty);
        try
        {
            (exit, stdout, _) = Fsc("doctor");
            Assert.Equal(1, exit);
            Assert.Contains("fail  default pack blazeface-back: not in", stdout);
            Assert.Contains("run 'fsc models build-default'", stdout);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSC_MODEL_STORE", store);
        }
    }

    [Fact]
    public void Config_names_per_model_precision_and_refuses_an_unknown_one()
    {
        var config = Path.Combine(install.Dir.Path, "precision.conf");
        File.WriteAllText(config, "faceswap.models.precision { \"gfpgan_1.4\" = fp16, codeformer = fp32 }");
        Environment.SetEnvironmentVariable("FSC_CONFIG", config);
        try
        {
            var settings = FaceSwap.Cluster.Configuration.FscSettings.Load();
            Assert.Equal(FaceSwap.Inference.Runtime.Precision.Fp16, settings.ModelPrecision["gfpgan_1.4"]);
            Assert.Equal(FaceSwap.Inference.Runtime.Precision.Fp32, settings.ModelPrecision["codeformer"]);
            Assert.EndsWith(Path.Combine(".cache", "identities"), settings.IdentityStore); // the rest falls back to config/faceswap.conf
            File.WriteAllText(config, "faceswap.models.precision { inswapper_128 = int8 }");
            Assert.Contains("unknown precision 'int8'", Assert.Throws<ArgumentException>(FaceSwap.Cluster.Configuration.FscSettings.Load).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSC_CONFIG", install.Config);
        }
    }

    [Fact]
    public void Audit_log_lists_filters_and_verifies_its_chain()
    {
        Register("--scope", "eval");
        var (exit, stdout, _) = Fsc("audit", "--kind", "identity-registered", "--since", "1h");
        Assert.Equal(0, exit);
        Assert.Contains("identity-registered", stdout);
        Assert.DoesNotContain("session-start", stdout);
        (exit, stdout, _) = Fsc("audit", "--verify");
        Assert.Equal(0, exit);
        Assert.Contains("audit log intact", stdout);
        var (badExit, _, stderr) = Fsc("audit", "--kind", "no-such-kind");
        Assert.Equal(1, badExit);
        Assert.Contains("is not one of", stderr);
    }
}
