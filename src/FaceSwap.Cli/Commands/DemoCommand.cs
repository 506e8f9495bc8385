using System.CommandLine;
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
        var command = new Command("demo", "Build the default model pack, analyse the sample photos and make the average face.") { photos, pattern, output, providers };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            DefaultPackBuilder.Build(RepositoryPaths.NodeModules, new ModelStore(RepositoryPaths.ModelStore), progress: line => Console.WriteLine($"models: {line}"));
            var folder = parse.GetValue(photos)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: photo folder not found");
            var files = Directory.GetFiles(folder, parse.GetValue(pattern)!).Order(StringComparer.Ordinal).ToArray();
            var analyzed = AnalyzeCommand.Run(files, parse.GetValue(output)!, json: false, DetectorOptions.Photos.TileSize, ImageFile.DefaultMaxPixels, parse.GetValue(providers)!);
            // The demo's source identity: the average of these faces, nobody's face.
            IdentitiesCommand.MakeAverage(files, "average", IdentitiesCommand.DefaultStore, parse.GetValue(providers)!);
            return analyzed;
        }));
        return command;
    }
}
