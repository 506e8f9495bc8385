using FaceSwap.Inference.Models;
using Google.Protobuf;

namespace FaceSwap.Inference.Tests;

public sealed class ModelStoreTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("models/inswapper_128")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("a\\b")]
    public void A_model_name_that_is_not_a_plain_name_is_refused_before_any_file_is_touched(string name)
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "names"));
        Assert.Contains("is not a model name", Assert.Throws<ArgumentException>(() => store.Contains(name)).Message);
        Assert.Throws<ArgumentException>(() => store.Get(name));
        Assert.Equal("gfpgan_1.4", ModelStore.CheckName("gfpgan_1.4"));
    }

    [Fact]
    public void Default_pack_builds_once_and_is_reused_on_the_second_run()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "pack"));
        var first = DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        Assert.All(first, r => Assert.True(r.Converted));
        var second = DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        Assert.All(second, r => Assert.False(r.Converted));
        Assert.Equal(first.Select(r => r.Manifest.Sha256), second.Select(r => r.Manifest.Sha256));
    }

    [Fact]
    public void Default_pack_conversion_is_reproducible_byte_for_byte()
    {
        var a = DefaultPackBuilder.Build(TestPaths.NodeModules, new ModelStore(Path.Combine(_dir.Path, "a")), force: true);
        var b = DefaultPackBuilder.Build(TestPaths.NodeModules, new ModelStore(Path.Combine(_dir.Path, "b")), force: true);
        Assert.Equal(a.Select(r => r.Manifest.Sha256), b.Select(r => r.Manifest.Sha256));
    }

    [Fact]
    public void Manifest_records_task_contract_normalisation_and_source()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "pack"));
        DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        var mesh = store.Get("facemesh");
        Assert.Equal("face-landmarks", mesh.Task);
        var input = Assert.Single(mesh.Inputs);
        Assert.Equal(("input_1", "NHWC", "RGB"), (input.Name, input.Layout, input.ColorOrder));
        Assert.Equal([-1L, 192, 192, 3], input.Shape);
        Assert.Equal(Normalization.ZeroToOne, input.Normalize);
        Assert.Equal([-1L, 1404], mesh.Outputs.Single(o => o.Name == "Identity_2").Shape);
        Assert.Equal(DefaultPack.Version, mesh.Source!.Version);
        Assert.Equal(64, mesh.Sha256.Length);
        Assert.Equal(Normalization.MinusOneToOne, store.Get("blazeface-back").Inputs[0].Normalize);
    }

    [Fact]
    public void Model_whose_file_no_longer_matches_its_manifest_is_refused_and_then_rebuilt()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "pack"));
        DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        var manifest = store.Get("selfie");
        var path = store.ModelPath(manifest);
        File.AppendAllText(path, "tampered");
        var error = Assert.Throws<ModelStoreException>(() => store.VerifiedPath(manifest));
        Assert.Equal(path, error.Path);
        Assert.Contains("does not match the manifest", error.Problem);

        var log = new List<string>();
        var rebuilt = DefaultPackBuilder.Build(TestPaths.NodeModules, store, progress: log.Add);
        Assert.True(rebuilt.Single(r => r.Name == "selfie").Converted);
        Assert.Contains(log, line => line.StartsWith("selfie: cached copy rejected", StringComparison.Ordinal));
        Assert.Equal(path, store.VerifiedPath(store.Get("selfie")));
    }

    [Fact]
    public void Missing_model_is_named_with_the_command_that_builds_it()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "empty"));
        var error = Assert.Throws<ModelStoreException>(() => store.Get("blazeface-back"));
        Assert.Contains("fsc models build-default", error.Problem);
    }

    [Fact]
    public void Source_file_that_differs_from_the_pinned_hash_is_refused()
    {
        // A node_modules copy whose facemesh.bin is not the file the pinned package ships.
        var fake = Path.Combine(_dir.Path, "node_modules");
        var package = Path.Combine(fake, DefaultPack.Package);
        Directory.CreateDirectory(Path.Combine(package, "models"));
        File.Copy(Path.Combine(TestPaths.NodeModules, DefaultPack.Package, "package.json"), Path.Combine(package, "package.json"));
        foreach (var file in Directory.GetFiles(TestPaths.HumanModels))
            File.Copy(file, Path.Combine(package, "models", Path.GetFileName(file)));
        var bin = Path.Combine(package, "models", "facemesh.bin");
        var bytes = File.ReadAllBytes(bin);
        bytes[100] ^= 0xFF;
        File.WriteAllBytes(bin, bytes);

        var error = Assert.Throws<ModelStoreException>(() => DefaultPackBuilder.Build(fake, new ModelStore(Path.Combine(_dir.Path, "pack"))));
        Assert.Equal(bin, error.Path);
        Assert.Contains("differs from the pinned", error.Problem);
    }
}
