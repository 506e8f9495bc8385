using System.CommandLine;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Identities;
using FaceSwap.Swap.Jobs;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc swap</c>: a file job, image or video, with the built-in swap; every output is labelled.</summary>
public static class SwapCommand
{
    public static Command Create()
    {
        var identity = new Option<string>("--identity") { Description = "Source identity id in the identity store (the demo's: average).", Required = true };
        var target = new Option<string>("--target") { Description = "Image or video to swap the identity into.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output file (.mp4 for videos, an image extension for images).", Required = true };
        var store = new Option<string>("--store") { Description = "Identity store folder.", DefaultValueFactory = _ => IdentitiesCommand.DefaultStore };
        var select = new Option<SelectionMode>("--select") { Description = "Which faces to swap: All, Largest, Leftmost.", DefaultValueFactory = _ => SelectionMode.All };
        var detectEvery = new Option<int>("--detect-every") { Description = "Run the detector every N frames, track in between.", DefaultValueFactory = _ => 5 };
        var feather = new Option<float>("--feather") { Description = "Width of the feathered edge, as a fraction of the face's size.", DefaultValueFactory = _ => new SwapOptions().Feather };
        var blend = new Option<BlendMode>("--blend") { Description = "Feather or Seamless.", DefaultValueFactory = _ => BlendMode.Feather };
        var providers = AnalyzeCommand.ProviderOption();
        var command = new Command("swap", "Swap a source identity into an image or a video file: every frame processed, resolution, frame rate and audio kept, output labelled.")
            { identity, target, output, store, select, detectEvery, blend, feather, providers };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var (record, source) = new IdentityStore(parse.GetValue(store)!).Load(parse.GetValue(identity)!);
            using var face = source;
            var targetPath = parse.GetValue(target)!;
            using var logging = CliLogging.Create();
            var models = new ModelStore(RepositoryPaths.ModelStore);
            using var analyzer = FaceAnalyzer.Open(models, new InferenceOptions { Providers = ExecutionProviders.Parse(parse.GetValue(providers)!) },
                FileSwapJob.IsImage(targetPath) ? DetectorOptions.Photos : new DetectorOptions(), logging.CreateLogger("fsc"));
            var options = new StreamEngineOptions
            {
                DetectEvery = parse.GetValue(detectEvery),
                Selection = new FaceSelection(parse.GetValue(select)),
                Swap = new SwapOptions { Blend = parse.GetValue(blend), Feather = parse.GetValue(feather) },
            };
            var progress = new ProgressBar();
            var result = FileSwapJob.Run(analyzer, face, targetPath, parse.GetValue(output)!, options, progress.Report);
            progress.Finish();
            Console.WriteLine($"swapped '{record.Id}' into {result.FramesWithFaces} of {result.Frames} frame(s) in {result.Elapsed.TotalSeconds:F1} s -> {parse.GetValue(output)}");
            return 0;
        }));
        return command;
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
