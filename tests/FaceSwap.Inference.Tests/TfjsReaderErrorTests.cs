using FaceSwap.Inference.TfJs;

namespace FaceSwap.Inference.Tests;

/// <summary>Broken TF.js models: each failure names the file and the problem, and nothing else is written.</summary>
public sealed class TfjsReaderErrorTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    private readonly string _modelJson;
    private readonly string _shard;

    public TfjsReaderErrorTests()
    {
        // A real model copied aside, so each test can damage its own copy.
        foreach (var file in new[] { "blazeface-back.json", "blazeface-back.bin" })
            File.Copy(Path.Combine(TestPaths.HumanModels, file), Path.Combine(_dir.Path, file));
        _modelJson = Path.Combine(_dir.Path, "blazeface-back.json");
        _shard = Path.Combine(_dir.Path, "blazeface-back.bin");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Intact_copy_reads_and_converts()
    {
        var converted = TfjsToOnnxConverter.Convert(TfjsGraphModelReader.Read(_modelJson));
        Assert.Equal(["Identity", "Identity_1", "Identity_2", "Identity_3"], converted.Outputs.Select(o => o.Name));
    }

    [Fact]
    public void Corrupted_model_json_is_refused_naming_the_file_and_the_parse_error()
    {
        var text = File.ReadAllText(_modelJson);
        File.WriteAllText(_modelJson, text[..(text.Length / 2)]);
        var error = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(_modelJson));
        Assert.Equal(_modelJson, error.File);
        Assert.Contains("not valid JSON", error.Problem);
        Assert.Contains("blazeface-back.json", error.Message);
    }

    [Fact]
    public void Model_json_that_is_no_graph_model_is_refused()
    {
        File.WriteAllText(_modelJson, """{"format": "layers-model", "modelTopology": {}}""");
        var error = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(_modelJson));
        Assert.Contains("'layers-model'", error.Problem);
    }

    [Fact]
    public void Missing_shard_is_refused_naming_the_shard()
    {
        File.Delete(_shard);
        var error = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(_modelJson));
        Assert.Equal(_shard, error.File);
        Assert.Contains("weight shard 'blazeface-back.bin'", error.Problem);
        Assert.Contains("missing", error.Problem);
    }

    [Fact]
    public void Truncated_shard_is_refused_naming_the_shard_and_the_sizes()
    {
        var bytes = File.ReadAllBytes(_shard);
        File.WriteAllBytes(_shard, bytes[..(bytes.Length - 1000)]);
        var error = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(_modelJson));
        Assert.Equal(_shard, error.File);
        Assert.Contains("truncated", error.Problem);
        Assert.Contains($"hold {bytes.Length - 1000}", error.Problem);
    }

    [Fact]
    public void Shard_longer_than_its_manifest_is_refused()
    {
        File.AppendAllText(_shard, "extra");
        var error = Assert.Throws<TfjsModelException>(() => TfjsGraphModelReader.Read(_modelJson));
        Assert.Contains("do not belong together", error.Problem);
    }

    [Fact]
    public void Unknown_op_stops_the_conversion_naming_the_op_and_the_node()
    {
        var text = File.ReadAllText(_modelJson);
        var first = text.IndexOf("\"op\":\"Relu\"", StringComparison.Ordinal);
        Assert.True(first > 0, "the copy should contain a Relu node");
        File.WriteAllText(_modelJson, string.Concat(text.AsSpan(0, first), "\"op\":\"FancyRelu\"", text.AsSpan(first + "\"op\":\"Relu\"".Length)));
        var model = TfjsGraphModelReader.Read(_modelJson);
        var error = Assert.Throws<TfjsModelException>(() => TfjsToOnnxConverter.Convert(model));
        Assert.Equal(_modelJson, error.File);
        Assert.Contains("unsupported TensorFlow op 'FancyRelu' (node 'StatefulPartitionedCall/functional_1/", error.Problem);
    }
}
