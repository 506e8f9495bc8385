using System.CommandLine;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc demo</c>: builds the default pack, analyses the sample photos that @vladmandic/face-api ships (one
/// annotated PNG per photo) and makes the demo identity, their average face. Later it starts the embedded cluster.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var photos = new Option<string>("--photos")
        {
            Description = "Folder of photos to analyse (default: the sample photos of @vladmandic/face-api).",
            DefaultValueFactory = _ => RepositoryPaths.SamplePhotos,
        };
        var pattern = new Option<string>("--pattern") { Description = "File pattern of the photos.", DefaultValueFactory = _ => "sample*.jpg" };
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder for the annotated images (default: .cache/demo).",
            DefaultValueFactory = _ => Path.Combine(RepositoryPaths.Root, ".cache", "demo"),
        };
        var providers = AnalyzeCommand.ProviderOption();
        var command = new Command("demo", "Build the default model pack, analyse the sample photos, make the average face, swap it into a photo (marked and signed) and verify that output.") { photos, pattern, output, providers };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            DefaultPackBuilder.Build(RepositoryPaths.NodeModules, new ModelStore(RepositoryPaths.ModelStore), progress: line => Console.WriteLine($"models: {line}"));
            var folder = parse.GetValue(photos)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: photo folder not found");
            var files = Directory.GetFiles(folder, parse.GetValue(pattern)!).Order(StringComparer.Ordinal).ToArray();
            var analyzed = AnalyzeCommand.Run(files, parse.GetValue(output)!, json: false, DetectorOptions.Photos.TileSize, ImageFile.DefaultMaxPixels, parse.GetValue(providers)!);
            // The demo's source identity: the average of these faces, nobody's face.
            var settings = FscSettings.Load();
            IdentitiesCommand.MakeAverage(settings, files, parse.GetValue(providers)!);
            // A marked, signed swap of the average face into a group photo, and the check anyone can run on it.
            if (!File.Exists(settings.SigningKey)) KeysCommand.Generate(settings);
            var swapped = Path.Combine(parse.GetValue(output)!, "swapped-" + Path.GetFileName(files[1]));
            SwapCommand.Run(FaceSwap.Governance.Consent.IdentityIds.Average, files[1], swapped, parse.GetValue(providers)!, new FaceSwap.Swap.StreamEngineOptions());
            Console.WriteLine($"$ fsc verify {swapped}");
            var verified = VerifyCommand.Run(swapped);
            return Math.Max(analyzed, verified);
        }));
        return command;
    }
}
