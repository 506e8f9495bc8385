using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.TfJs;
using Xunit.Abstractions;

namespace FaceSwap.Inference.Tests;

/// <summary>
/// Fuzzing the two loaders that read files from outside: a model store's manifests and a TF.js graph model
/// (model.json beside its weight shard). Seeds are the default pack's manifests and BlazeFace's real model.json;
/// each case is a byte-level or a structural (JSON) mutation. Each either loads or fails with the loader's own
/// exception naming the file; nothing else. 1 500 cases per loader in CI; <c>FSC_FULL=1</c> runs 100 000.
/// </summary>
public sealed class ModelFileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>Half the cases mutate bytes, half the JSON's structure.</summary>
    private static byte[] Mutant(Random random, byte[] seed, JsonNode? json) =>
        random.Next(2) == 0 || json is null ? Fuzz.Mutate(random, seed) : Encoding.UTF8.GetBytes(Fuzz.MutateJson(random, json)?.ToJsonString() ?? "null");

    [Fact]
    public void Mutated_manifests_load_or_fail_with_a_model_store_exception_only()
    {
        new ModelStore(TestPaths.ModelStore).List(); // the default pack is built (the fixture of other tests, or setup)
        var seeds = Directory.GetFiles(Path.Combine(TestPaths.ModelStore), "*" + ModelStore.ManifestSuffix).Select(File.ReadAllBytes).ToList();
        Assert.NotEmpty(seeds);
        var store = new ModelStore(_dir.Path);
        var random = new Random(Fuzz.Seed);
        var cases = Fuzz.Cases(1_500);
        var (loaded, refused) = (0, 0);
        for (var i = 0; i < cases; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var bytes = Mutant(random, seed, JsonNode.Parse(seed));
            File.WriteAllBytes(store.ManifestPath("fuzz"), bytes);
            try
            {
                var manifest = store.Get("fuzz");
                _ = store.ModelPath(manifest);
                loaded++;
            }
            catch (ModelStoreException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {Fuzz.Seed}): {e.GetType().Name}: {e.Message}\n{Encoding.UTF8.GetString(bytes)[..Math.Min(2000, bytes.Length)]}");
            }
        }
        output.WriteLine($"{cases} manifests: {loaded} loaded, {refused} refused");
        Assert.True(refused > 0 && loaded > 0);
    }

    [Fact]
    public void Mutated_tfjs_models_read_and_convert_or_fail_with_a_tfjs_model_exception_only()
    {
        foreach (var file in new[] { "blazeface-back.json", "blazeface-back.bin" })
            File.Copy(Path.Combine(TestPaths.HumanModels, file), Path.Combine(_dir.Path, file));
        var modelJson = Path.Combine(_dir.Path, "blazeface-back.json");
        var seed = File.ReadAllBytes(modelJson);
        var json = JsonNode.Parse(seed);
        var random = new Random(Fuzz.Seed);
        var cases = Fuzz.Cases(1_500);
        var (converted, refused, slowest) = (0, 0, TimeSpan.Zero);
        for (var i = 0; i < cases; i++)
        {
            var bytes = Mutant(random, seed, json);
            File.WriteAllBytes(modelJson, bytes);
            var clock = Stopwatch.StartNew();
            try
            {
                TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(modelJson));
                converted++;
            }
            catch (TfjsModelException)
            {
                refused++;
            }
            catch (Exception e)
            {
                var failed = Path.Combine(Path.GetTempPath(), $"fsc-fuzz-tfjs-{Fuzz.Seed}-{i}.json");
                File.WriteAllBytes(failed, bytes);
                Assert.Fail($"case {i} (seed {Fuzz.Seed}, kept as {failed}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
            if (clock.Elapsed > slowest) slowest = clock.Elapsed;
        }
        output.WriteLine($"{cases} model.json files: {converted} converted, {refused} refused; slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.True(refused > 0);
    }

    // What the fuzzing found, each kept as a regression test.

    [Theory]
    [InlineData("null")]
    [InlineData("\"\\u0000\"")]
    [InlineData("\"\"")]
    public void A_manifest_whose_file_is_null_empty_or_a_nul_is_refused_naming_the_manifest(string file)
    {
        var seed = File.ReadAllText(Directory.GetFiles(TestPaths.ModelStore, "*" + ModelStore.ManifestSuffix).Order(StringComparer.Ordinal).First());
        var json = JsonNode.Parse(seed)!.AsObject();
        json["file"] = JsonNode.Parse(file);
        var store = new ModelStore(_dir.Path);
        File.WriteAllText(store.ManifestPath("broken"), json.ToJsonString());
        var refused = Assert.Throws<ModelStoreException>(() => store.ModelPath(store.Get("broken")));
        Assert.Contains("broken.manifest.json", refused.Message);
    }

    private string BlazeFaceCopy(Action<JsonObject> damage)
    {
        foreach (var file in new[] { "blazeface-back.json", "blazeface-back.bin" })
            File.Copy(Path.Combine(TestPaths.HumanModels, file), Path.Combine(_dir.Path, file), overwrite: true);
        var path = Path.Combine(_dir.Path, "blazeface-back.json");
        var json = JsonNode.Parse(File.ReadAllBytes(path))!.AsObject();
        damage(json);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    private static JsonObject Node(JsonObject model, string op) =>
        model["modelTopology"]!["node"]!.AsArray().Select(n => n!.AsObject()).First(n => n["op"]!.GetValue<string>() == op);

    [Fact]
    public void A_tfjs_model_with_a_name_of_invalid_utf8_is_refused_naming_the_file()
    {
        var path = BlazeFaceCopy(_ => { });
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf("\"name\":\"input\""u8) + 8; // the Placeholder node's name
        bytes[at] = 0xC3; bytes[at + 1] = 0x28; // a two-byte sequence whose second byte is not a continuation
        File.WriteAllBytes(path, bytes);
        var refused = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(path));
        Assert.Contains("malformed graph model", refused.Message);
    }

    [Fact]
    public void A_tfjs_node_without_its_inputs_is_refused_naming_the_node()
    {
        var path = BlazeFaceCopy(model => Node(model, "AddV2")["input"] = new JsonArray());
        var refused = Assert.Throws<TfjsModelException>(() => TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(path)));
        Assert.Contains("(AddV2) cannot be converted", refused.Message);
    }

    [Fact]
    public void A_tfjs_convolution_with_a_zero_stride_is_refused_naming_the_node()
    {
        var path = BlazeFaceCopy(model => Node(model, "_FusedConv2D")["attr"]!["strides"] = JsonNode.Parse("""{"list":{"i":["1","0","0","1"]}}"""));
        var refused = Assert.Throws<TfjsModelException>(() => TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(path)));
        Assert.Contains("(_FusedConv2D)", refused.Message);
    }
}
