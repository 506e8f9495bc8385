using FaceSwap.Cli;
using FaceSwap.Inference.Models;

namespace FaceSwap.Cli.Tests;

/// <summary>What a user of <c>fsc models</c> sees: exit codes and messages, run in-process.</summary>
// fsc writes to Console, which the tests redirect: one collection, so they never run at once.
[Collection("console")]
public sealed class ModelsCommandTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    internal static (int Exit, string Out, string Err) Fsc(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            return (FscApp.Create().Parse(args).Invoke(), stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>A generated model with GFPGAN 1.4's signature (input 'input', one 1×3×512×512 output): Identity, no weights.</summary>
    private string GeneratedEnhancer(string name, long size)
    {
        var graph = new FaceSwap.Inference.Onnx.OnnxGraphBuilder("generated-gfpgan-shaped");
        graph.AddInput("input", Onnx.TensorProto.Types.DataType.Float, 1, 3, size, size);
        graph.AddOutputNode("Identity", ["input"], "output");
        graph.AddOutput("output", Onnx.TensorProto.Types.DataType.Float, 1, 3, size, size);
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(graph.Build("test", "1", "generated")));
        return path;
    }

    [Fact]
    public void Add_takes_a_generated_model_that_fits_its_preset_and_refuses_one_that_does_not()
    {
        var store = Path.Combine(_dir.Path, "store");
        var (exit, stdout, stderr) = Fsc("models", "add", GeneratedEnhancer("fits.onnx", 512), "--preset", "gfpgan_1.4", "--store", store);
        Assert.True(exit == 0, stderr);
        Assert.Contains("added gfpgan_1.4 (face-enhancement, preset gfpgan_1.4", stdout);
        Assert.Contains("gfpgan_1.4", Fsc("models", "list", "--store", store).Out);

        (exit, stdout, stderr) = Fsc("models", "add", GeneratedEnhancer("small.onnx", 256), "--preset", "gfpgan_1.4", "--store", store, "--name", "small");
        Assert.Equal(1, exit);
        Assert.Contains("does not fit preset gfpgan_1.4; refused:", stderr);
        Assert.Contains("input 'input': shape [1,3,256,256], preset gfpgan_1.4 wants [1,3,512,512]", stderr);
        Assert.False(File.Exists(Path.Combine(store, "small.manifest.json")));
    }

    [Fact]
    public void Convert_writes_an_onnx_file_and_lists_its_inputs_and_outputs()
    {
        var output = Path.Combine(_dir.Path, "facemesh.onnx");
        var (exit, stdout, _) = Fsc("models", "convert", Path.Combine(TestPaths.HumanModels, "facemesh.json"), "-o", output);
        Assert.Equal(0, exit);
        Assert.True(new FileInfo(output).Length > 1_000_000);
        Assert.Contains("in  input_1 [-1,192,192,3]", stdout);
        Assert.Contains("out Identity_2 [-1,1404]", stdout);
    }

    [Fact]
    public void Convert_of_a_model_with_a_missing_shard_exits_1_with_one_line_naming_the_shard()
    {
        var json = Path.Combine(_dir.Path, "facemesh.json");
        File.Copy(Path.Combine(TestPaths.HumanModels, "facemesh.json"), json);
        var (exit, stdout, stderr) = Fsc("models", "convert", json, "-o", Path.Combine(_dir.Path, "out.onnx"));
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"fsc: error: {Path.Combine(_dir.Path, "facemesh.bin")}: weight shard 'facemesh.bin'", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "out.onnx")));
    }

    [Fact]
    public void Build_default_then_list_shows_every_model_of_the_pack()
    {
        var store = Path.Combine(_dir.Path, "store");
        var (exit, stdout, _) = Fsc("models", "build-default", "--store", store, "--node-modules", TestPaths.NodeModules);
        Assert.Equal(0, exit);
        Assert.Contains("default pack: 5 converted, 0 up to date", stdout);
        (exit, stdout, _) = Fsc("models", "list", "--store", store);
        Assert.Equal(0, exit);
        foreach (var model in DefaultPack.Models)
            Assert.Contains(model.Name, stdout);
        Assert.Contains("x*0.00784314-1", stdout); // BlazeFace's input normalisation
    }

    [Fact]
    public void List_of_a_store_with_a_broken_manifest_exits_1_naming_the_manifest()
    {
        var store = Path.Combine(_dir.Path, "store");
        Directory.CreateDirectory(store);
        File.WriteAllText(Path.Combine(store, "x" + ModelStore.ManifestSuffix), "{ not json");
        var (exit, _, stderr) = Fsc("models", "list", "--store", store);
        Assert.Equal(1, exit);
        Assert.Contains("x.manifest.json: manifest is not valid", stderr);
    }
}
