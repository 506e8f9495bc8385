using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;
using FaceSwap.Governance.Provenance;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Identities;
using FaceSwap.Swap.Enhancement;
using FaceSwap.Swap.Jobs;
using FaceSwap.Swap.Neural;
using FaceSwap.Vision.Marks;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc swap</c>: a file job, image or video, with the built-in swap. The identity needs consent for file jobs,
/// watched for the whole job; every output frame is labelled and watermarked, the output gets a signed provenance
/// sidecar, and the session is audited.
/// </summary>
public static class SwapCommand
{
    public static Command Create()
    {
        var identity = new Option<string>("--identity") { Description = "Source identity id (registered with consent; the demo's: average).", Required = true };
        var target = new Option<string>("--target") { Description = "Image or video to swap the identity into.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output file (.mp4 for videos, an image extension for images); a signed <output>.provenance.json is written beside it.", Required = true };
        var select = new Option<SelectionMode>("--select") { Description = "Which faces to swap: All, Largest, Leftmost.", DefaultValueFactory = _ => SelectionMode.All };
        var detectEvery = new Option<int>("--detect-every") { Description = "Run the detector every N frames, track in between.", DefaultValueFactory = _ => 5 };
        var feather = new Option<float>("--feather") { Description = "Width of the feathered edge, as a fraction of the face's size.", DefaultValueFactory = _ => new SwapOptions().Feather };
        var blend = new Option<BlendMode>("--blend") { Description = "Feather or Seamless.", DefaultValueFactory = _ => BlendMode.Feather };
        var swapper = new Option<string>("--swapper")
        {
            Description = $"mesh (built in), or a bring-your-own swapper with its embedding: {string.Join(", ", NeuralSwapper.EmbedderOf.Select(e => $"{e.Key} (with {e.Value})"))}; see fsc models add.",
            DefaultValueFactory = _ => "mesh",
        };
        swapper.AcceptOnlyFromAmong(["mesh", .. NeuralSwapper.EmbedderOf.Keys]);
        var enhancer = new Option<string?>("--enhancer") { Description = "A bring-your-own face restorer from the model store (gfpgan_1.4, codeformer, gpen_bfr_256/512/1024/2048); none by default." };
        var enhanceBlend = new Option<float>("--enhance-blend") { Description = "How much of the restored face replaces the swapped one, 0 to 1.", DefaultValueFactory = _ => new EnhancerOptions().Blend };
        var fidelity = new Option<float>("--fidelity") { Description = "CodeFormer's fidelity weight, 0 (restoration) to 1 (identity).", DefaultValueFactory = _ => new EnhancerOptions().Fidelity };
        var detector = new Option<string>("--detector") { Description = $"blazeface (default pack) or {ScrfdDetector.PresetName} (bring your own; see fsc models add).", DefaultValueFactory = _ => "blazeface" };
        detector.AcceptOnlyFromAmong("blazeface", ScrfdDetector.PresetName);
        var providers = AnalyzeCommand.ProviderOption();
        var command = new Command("swap", "Swap a consented identity into an image or a video file: every frame processed, resolution, frame rate and audio kept, output marked and signed.")
            { identity, target, output, select, detectEvery, blend, feather, swapper, enhancer, enhanceBlend, fidelity, detector, providers };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(identity)!, parse.GetValue(target)!, parse.GetValue(output)!, parse.GetValue(providers)!,
            new StreamEngineOptions
            {
                DetectEvery = parse.GetValue(detectEvery),
                Selection = new FaceSelection(parse.GetValue(select)),
                Swap = new SwapOptions { Blend = parse.GetValue(blend), Feather = parse.GetValue(feather) },
            },
            parse.GetValue(swapper)!, parse.GetValue(enhancer), new EnhancerOptions { Blend = parse.GetValue(enhanceBlend), Fidelity = parse.GetValue(fidelity) },
            parse.GetValue(detector)!)));
        return command;
    }

    internal static int Run(string identityId, string targetPath, string outputPath, string providers, StreamEngineOptions options,
        string swapperName = "mesh", string? enhancerName = null, EnhancerOptions? enhancerOptions = null, string detectorName = "blazeface")
    {
        var settings = FscSettings.Load();
        using var logging = CliLogging.Create();
        var logger = logging.CreateLogger("fsc");
        using var governance = CliGovernance.Open(settings, logging.CreateLogger("consent"));
        var session = CliGovernance.NewSession();
        var sessionName = CliGovernance.SessionName(session);

        ConsentLease lease;
        try
        {
            lease = governance.Consent.Watch(identityId, ConsentScopes.File);
        }
        catch (ConsentException e)
        {
            governance.Audit.Append(settings.Actor, AuditKinds.SwapRefused, $"file job {Path.GetFileName(targetPath)}: {e.Denial}: {e.Message}", sessionName, identityId);
            throw;
        }
        using var _ = lease;
        if (!File.Exists(settings.SigningKey))
            throw new FileNotFoundException($"{settings.SigningKey}: no provenance signing key (faceswap.provenance.signing-key in {settings.Source}); make one with 'fsc keys generate'");
        using var signer = ProvenanceSigner.Load(settings.SigningKey);

        var (_, source) = new IdentityStore(settings.IdentityStore).Load(identityId);
        using var face = source;
        var models = new ModelStore(RepositoryPaths.ModelStore);
        using var analyzer = FaceAnalyzer.Open(models, new InferenceOptions { Providers = ExecutionProviders.Parse(providers) },
            FileSwapJob.IsImage(targetPath) ? DetectorOptions.Photos : new DetectorOptions(), logger);
        var inference = new InferenceOptions { Providers = ExecutionProviders.Parse(providers), ModelPrecision = settings.ModelPrecision };
        using var neural = swapperName == "mesh" ? null : ByoModels.OpenNeural(models, swapperName, inference, logger);
        using var enhancerModel = enhancerName is null ? null : ByoModels.OpenFromStore(models, enhancerName, inference, logger);
        var enhancer = enhancerModel is null ? null : new FaceEnhancer(enhancerModel, enhancerOptions);
        using var scrfdModel = detectorName == "blazeface" ? null : ByoModels.OpenFromStore(models, ScrfdDetector.PresetName, inference, logger);
        var detector = scrfdModel is null ? null : new ScrfdDetector(scrfdModel);
        var marks = new OutputMarks(settings.Label, WatermarkPayload.For(settings.NodeName, session));
        var described = Settings(options, settings, marks, neural?.Swapper.Name, enhancer, detectorName);

        governance.Audit.Append(settings.Actor, AuditKinds.SessionStart,
            $"file job {Path.GetFileName(targetPath)} -> {Path.GetFileName(outputPath)}; {JsonSerializer.Serialize(described)}", sessionName, identityId);
        if (!settings.Label.Enabled)
            governance.Audit.Append(settings.Actor, AuditKinds.LabelOff, $"visible label turned off in {settings.Source}", sessionName, identityId);

        var progress = new ProgressBar();
        FileSwapResult result;
        try
        {
            result = FileSwapJob.Run(analyzer, face, targetPath, outputPath, options, marks, progress.Report, lease.Token, neural?.Swapper, enhancer, detector);
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            progress.Finish();
            var reason = lease.EndedBecause?.Message ?? "consent ended";
            governance.Audit.Append(settings.Actor, AuditKinds.SessionStop, $"stopped: {reason}; partial output deleted", sessionName, identityId);
            throw lease.EndedBecause ?? new ConsentException(identityId, ConsentScopes.File, ConsentDenial.Revoked, reason);
        }
        catch (Exception e)
        {
            progress.Finish();
            governance.Audit.Append(settings.Actor, AuditKinds.SessionStop, $"failed: {e.GetType().Name}: {e.Message}", sessionName, identityId);
            throw;
        }
        progress.Finish();

        var used = analyzer.Models.Concat(neural?.Manifests ?? []).Concat(enhancerModel is null ? [] : [enhancerModel.Manifest])
            .Concat(scrfdModel is null ? [] : [scrfdModel.Manifest]);
        var record = ProvenanceRecord.ForOutput(outputPath, identityId,
            used.Select(m => new ProvenanceModel(m.Name, m.Sha256)), described, DateTimeOffset.UtcNow, settings.NodeName, sessionName);
        var sidecar = signer.WriteSidecar(outputPath, record);
        governance.Audit.Append(settings.Actor, AuditKinds.SessionStop,
            $"completed: {result.Frames} frame(s), {result.FramesWithFaces} with a swapped face, {result.Elapsed.TotalSeconds:F1} s; output sha256 {record.OutputSha256}", sessionName, identityId);
        Console.WriteLine($"swapped '{identityId}' into {result.FramesWithFaces} of {result.Frames} frame(s) in {result.Elapsed.TotalSeconds:F1} s -> {outputPath}");
        Console.WriteLine($"session {sessionName}, watermark {marks.Payload}, provenance {sidecar}");
        return 0;
    }

    /// <summary>The settings that shaped the output, as the provenance record and the audit log keep them.</summary>
    private static Dictionary<string, string> Settings(StreamEngineOptions options, FscSettings settings, OutputMarks marks, string? neural, FaceEnhancer? enhancer, string detectorName)
    {
        var c = CultureInfo.InvariantCulture;
        return new Dictionary<string, string>
        {
            ["swap.engine"] = neural ?? "built-in mesh swap",
            ["detector"] = detectorName,
            ["enhancer"] = enhancer is null ? "none" : $"{enhancer.Model.Name}, blend {enhancer.Options.Blend.ToString(c)}, fidelity {enhancer.Options.Fidelity.ToString(c)}",
            ["swap.blend"] = options.Swap.Blend.ToString(),
            ["swap.feather"] = options.Swap.Feather.ToString(c),
            ["swap.color"] = options.Swap.Color.ToString(),
            ["swap.keep-eyes-and-mouth"] = options.Swap.KeepEyesAndMouth.ToString(c),
            ["select"] = options.Selection.Mode.ToString(),
            ["detect-every"] = options.DetectEvery.ToString(c),
            ["label.enabled"] = settings.Label.Enabled.ToString(c),
            ["label.text"] = settings.Label.Text,
            ["label.corner"] = settings.Label.Corner.ToString(),
            ["watermark"] = marks.Payload.ToString(),
        };
    }

    /// <summary>One line on stderr, redrawn at most four times a second.</summary>
    private sealed class ProgressBar
    {
        private DateTime _last = DateTime.MinValue;

        public void Report(FileSwapProgress p)
        {
            if (DateTime.UtcNow - _last < TimeSpan.FromMilliseconds(250) && p.Frame != p.Frames) return;
            _last = DateTime.UtcNow;
            const int Width = 30;
            var done = p.Frames > 0 ? (int)(Width * Math.Min(1, (double)p.Frame / p.Frames)) : 0;
            Console.Error.Write($"\r[{new string('#', done)}{new string('.', Width - done)}] {p.Frame}/{(p.Frames > 0 ? p.Frames : "?")} frames, {p.FramesPerSecond:F1} fps ");
        }

        public void Finish() => Console.Error.WriteLine();
    }
}
