using System.CommandLine;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Identities;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc identities …</c>: the source identities a stream can swap in.</summary>
public static class IdentitiesCommand
{
    public static string DefaultStore =>
        Environment.GetEnvironmentVariable("FSC_IDENTITY_STORE") is { Length: > 0 } store ? store : Path.Combine(RepositoryPaths.Root, ".cache", "identities");

    public static Command Create()
    {
        var identities = new Command("identities", "Source identities: the synthetic average face, and (later) registered faces with consent records.");
        identities.Subcommands.Add(MakeAverage());
        return identities;
    }

    private static Command MakeAverage()
    {
        var photos = new Option<string>("--photos") { Description = "Folder of photos to average (default: the sample photos of @vladmandic/face-api).", DefaultValueFactory = _ => RepositoryPaths.SamplePhotos };
        var pattern = new Option<string>("--pattern") { Description = "File pattern of the photos.", DefaultValueFactory = _ => "sample*.jpg" };
        var id = new Option<string>("--id") { Description = "Identity id to store it under.", DefaultValueFactory = _ => "average" };
        var store = new Option<string>("--store") { Description = "Identity store folder (default: $FSC_IDENTITY_STORE or .cache/identities).", DefaultValueFactory = _ => DefaultStore };
        var providers = AnalyzeCommand.ProviderOption();
        var command = new Command("make-average", "Build a face that is nobody's: every near-frontal face of the photos warped to the mean mesh, textures averaged.") { photos, pattern, id, store, providers };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var folder = parse.GetValue(photos)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: photo folder not found");
            var files = Directory.GetFiles(folder, parse.GetValue(pattern)!).Order(StringComparer.Ordinal).ToList();
            DefaultPackBuilder.Build(RepositoryPaths.NodeModules, new ModelStore(RepositoryPaths.ModelStore), progress: line => Console.WriteLine($"models: {line}"));
            MakeAverage(files, parse.GetValue(id)!, parse.GetValue(store)!, parse.GetValue(providers)!);
            return 0;
        }));
        return command;
    }

    /// <summary>Builds the average face of <paramref name="files"/> and stores it as identity <paramref name="id"/> (the pack must be built).</summary>
    public static void MakeAverage(IReadOnlyList<string> files, string id, string store, string providers)
    {
        using var logging = CliLogging.Create();
        var models = new ModelStore(RepositoryPaths.ModelStore);
        using var analyzer = FaceAnalyzer.Open(models, new InferenceOptions { Providers = ExecutionProviders.Parse(providers) }, DetectorOptions.Photos, logging.CreateLogger("fsc"));
        var result = AverageFaceBuilder.Build(analyzer, files, Console.WriteLine);
        using var face = result.Face;
        var record = new IdentityRecord(id, "synthetic-average",
            $"average of {result.FacesUsed} near-frontal faces ({result.FacesSkipped} turned faces left out): nobody's face, so no one's likeness is swapped in without consent",
            files.Select(f => Path.GetFileName(f)).ToList(), result.FacesUsed, DateTimeOffset.UtcNow);
        var identities = new IdentityStore(store);
        identities.Save(record, face);
        Console.WriteLine($"identity '{record.Id}': average of {result.FacesUsed} faces -> {Path.Combine(identities.Directory, record.Id)}");
    }
}
