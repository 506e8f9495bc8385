using System.CommandLine;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;
using FaceSwap.Governance.Provenance;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision.Video;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc doctor</c>: what this install can do and what is missing, one line per check (ok, off, warn, fail): config,
/// ONNX Runtime providers, the default pack, bring-your-own models (a missing swapper or enhancer means that stage is
/// off), FFmpeg, the provenance keys, the consent registry and the audit log. Exit 1 when a check fails.
/// </summary>
public static class DoctorCommand
{
    private enum Level { Ok, Off, Warn, Fail }

    private sealed record Finding(Level Level, string Subject, string Detail);

    public static Command Create()
    {
        var host = new Option<string?>("--host") { Description = "A running node's management endpoint, HOST:PORT: check every node of its cluster instead (providers each model runs on, readiness, placement)." };
        var token = new Option<string?>("--token") { Description = "With --host: the management API's bearer token (default: FSC_MANAGEMENT_TOKEN, or the local token file)." };
        var json = new Option<bool>("--json") { Description = "With --host: print the answer as JSON." };
        var command = new Command("doctor", "Check this install: config, execution providers, models (default and bring-your-own), FFmpeg, keys, consent registry, audit log; with --host, a running cluster's nodes.")
            { host, token, json };
        command.SetAction(async (parse, cancel) => parse.GetValue(host) is { } remote
            ? await Remote.RemotePalette.Doctor(remote, parse.GetValue(token), parse.GetValue(json), cancel)
            : Local());
        return command;
    }

    private static int Local() => CliErrors.Run(() =>
        {
            var findings = Run().ToList();
            foreach (var f in findings) Console.WriteLine($"{f.Level.ToString().ToLowerInvariant(),-5} {f.Subject}: {f.Detail}");
            var failed = findings.Count(f => f.Level == Level.Fail);
            Console.WriteLine(failed == 0 ? "doctor: nothing failed" : $"doctor: {failed} check(s) failed");
            return failed == 0 ? 0 : 1;
        });

    private static IEnumerable<Finding> Run()
    {
        FscSettings? settings = null;
        Finding config;
        try
        {
            settings = FscSettings.Load();
            config = new Finding(Level.Ok, "config", $"{settings.Source}; node '{settings.NodeName}'");
        }
        catch (ArgumentException e)
        {
            config = new Finding(Level.Fail, "config", e.Message);
        }
        yield return config;
        if (settings is { Label.Enabled: false })
            yield return new Finding(Level.Warn, "label", "the visible label is off in the config; every session is audited as label-off");

        var available = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders();
        var preferred = InferenceOptions.DefaultProviders;
        yield return new Finding(preferred.All(p => available.Contains(p.OrtName())) ? Level.Ok : Level.Warn, "execution providers",
            $"this build offers {string.Join(", ", available)}; preferred {string.Join(" → ", preferred)}");

        var store = new ModelStore(RepositoryPaths.ModelStore);
        foreach (var model in DefaultPack.Models)
            yield return StoreCheck(store, model.Name, "default pack", missing: Level.Fail, "run 'fsc models build-default'");
        yield return StoreCheck(store, "inswapper_128", "neural swap", missing: Level.Off, "the built-in mesh swap is used; add one with 'fsc models add FILE.onnx --preset inswapper_128' (docs/models.md)");
        yield return StoreCheck(store, "arcface_w600k_r50", "neural swap embedding", missing: Level.Off, "needed with inswapper_128; 'fsc models add FILE.onnx --preset arcface_w600k_r50'");
        var enhancers = ModelPresets.All.Where(p => p.Task == "face-enhancement" && store.Contains(p.Name)).Select(p => p.Name).ToList();
        yield return enhancers.Count > 0
            ? new Finding(Level.Ok, "enhancement", $"available: {string.Join(", ", enhancers)} (fsc swap --enhancer NAME)")
            : new Finding(Level.Off, "enhancement", "no enhancer model: the enhancement stage does nothing; add gfpgan_1.4, codeformer or a gpen_bfr model with 'fsc models add'");

        yield return Tool("ffmpeg");
        yield return Tool("ffprobe");

        if (settings is null) yield break;
        yield return !File.Exists(settings.SigningKey)
            ? new Finding(Level.Warn, "signing key", $"{settings.SigningKey} missing: file jobs refuse to run until 'fsc keys generate'")
            : Guard("signing key", () => { using var signer = ProvenanceSigner.Load(settings.SigningKey); return $"{settings.SigningKey} (key id {signer.KeyId[..16]}…)"; });
        yield return settings.TrustedKeys.Count == 0 || settings.TrustedKeys.Any(k => !File.Exists(k))
            ? new Finding(Level.Warn, "trusted keys", $"missing: {string.Join(", ", settings.TrustedKeys.Where(k => !File.Exists(k)).DefaultIfEmpty("none configured"))}; fsc verify cannot check sidecars")
            : new Finding(Level.Ok, "trusted keys", string.Join(", ", settings.TrustedKeys));
        yield return Guard("consent registry", () =>
        {
            using var registry = new ConsentRegistry(settings.ConsentDatabase);
            return $"{registry.List().Count} registered, {registry.ListRevocations().Count} revoked";
        });
        yield return Guard("audit log", () =>
        {
            using var log = new AuditLog(settings.AuditDatabase, settings.NodeName);
            var check = log.Verify();
            return check.IsIntact ? $"{check.EventsChecked} event(s), hash chain intact"
                : throw new InvalidDataException($"hash chain broken at event {check.FirstBrokenSequence}: {check.Problem}");
        });
    }

    private static Finding StoreCheck(ModelStore store, string name, string role, Level missing, string hint)
    {
        if (!store.Contains(name)) return new Finding(missing, $"{role} {name}", $"not in {store.Directory}: {hint}");
        return Guard($"{role} {name}", () =>
        {
            var manifest = store.Get(name);
            store.VerifiedPath(manifest);
            return $"sha256 {manifest.Sha256[..16]}… verified";
        });
    }

    private static Finding Tool(string tool) => Guard(tool, () => Ffmpeg.Run(tool, ["-version"], tool).Split('\n')[0].Trim());

    /// <summary>Runs one check; its failure becomes a failed finding with the reason, and the other checks still run.</summary>
    private static Finding Guard(string subject, Func<string> check)
    {
        try
        {
            return new Finding(Level.Ok, subject, check());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Finding(Level.Fail, subject, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
