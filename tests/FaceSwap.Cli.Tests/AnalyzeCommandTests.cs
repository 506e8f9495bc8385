using System.Text.Json;

namespace FaceSwap.Cli.Tests;

[Collection("console")]
public sealed class AnalyzeCommandTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static string Sample(int n) => Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg");

    [Fact]
    public void Json_gives_one_line_per_image_and_a_bad_image_does_not_stop_the_batch()
    {
        var broken = Path.Combine(_dir.Path, "broken.jpg");
        File.WriteAllBytes(broken, []);
        var (exit, stdout, _) = ModelsCommandTests.Fsc("analyze", Sample(5), broken, Sample(1), "--json");
        Assert.Equal(1, exit); // one image failed
        var lines = stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);

        Assert.Equal(Sample(5), lines[0].GetProperty("image").GetString());
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("error").ValueKind);
        var faces = lines[0].GetProperty("faces").EnumerateArray().ToList();
        Assert.Equal(5, faces.Count);
        Assert.Equal(4, faces[0].GetProperty("box").GetArrayLength());
        Assert.InRange(faces[0].GetProperty("score").GetSingle(), 0.5f, 1f);
        Assert.Equal(468, faces[0].GetProperty("landmarks").GetArrayLength());
        Assert.Equal(2, faces[0].GetProperty("landmarks")[0].GetArrayLength());

        Assert.Equal(broken, lines[1].GetProperty("image").GetString());
        Assert.Empty(lines[1].GetProperty("faces").EnumerateArray());
        Assert.Contains($"{broken}: file is empty (0 bytes)", lines[1].GetProperty("error").GetString());

        Assert.Equal(3, lines[2].GetProperty("faces").GetArrayLength()); // the batch went on after the failure
    }

    [Fact]
    public void Text_output_names_the_providers_and_writes_an_annotated_png_per_image()
    {
        var output = Path.Combine(_dir.Path, "out");
        var (exit, stdout, stderr) = ModelsCommandTests.Fsc("analyze", Sample(2), "-o", output);
        Assert.True(exit == 0, stderr);
        Assert.Contains("models: blazeface-back on Cpu, facemesh on Cpu, mobileface on Cpu", stdout);
        Assert.Contains("3 face(s)", stdout);
        Assert.True(new FileInfo(Path.Combine(output, "sample2.faces.png")).Length > 100_000);
    }
}
