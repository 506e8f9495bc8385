using System.Text.Json;

namespace FaceSwap.Inference.Tests;

/// <summary>One input of a TF.js reference run and the outputs TF.js computed for it.</summary>
public sealed record ReferenceCase(string Name, string Kind, ReferenceTensor Input, IReadOnlyList<ReferenceTensor> Outputs)
{
    public static IReadOnlyList<ReferenceCase> Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ReferenceCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("kind").GetString()!,
            ReferenceTensor.Read(c.GetProperty("input")),
            c.GetProperty("outputs").EnumerateArray().Select(ReferenceTensor.Read).ToList())).ToList();
    }
}

public sealed record ReferenceTensor(string Name, int[] Shape, float[] Data)
{
    public static ReferenceTensor Read(JsonElement e)
    {
        var bytes = Convert.FromBase64String(e.GetProperty("data").GetString()!);
        var data = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, data, 0, data.Length * 4);
        return new ReferenceTensor(e.GetProperty("name").GetString()!, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(), data);
    }
}
