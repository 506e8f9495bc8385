using System.Text.Json;
using OpenCvSharp;

namespace FaceSwap.Swap.Identities;

/// <summary>What is known of a stored identity besides its face: where it came from.</summary>
public sealed record IdentityRecord(string Id, string Kind, string Description, IReadOnlyList<string> Sources, int Faces, DateTimeOffset Created);

/// <summary>
/// Source identities on disk: one folder each, with the face texture (face.png), its mesh (mesh.json) and a record
/// (identity.json). Consent records join them with the responsible-use issue.
/// </summary>
public sealed class IdentityStore(string directory)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string Directory { get; } = Path.GetFullPath(directory);

    public void Save(IdentityRecord record, SourceFace face)
    {
        var folder = Folder(record.Id);
        System.IO.Directory.CreateDirectory(folder);
        if (!Cv2.ImWrite(Path.Combine(folder, "face.png"), face.Texture))
            throw new IOException($"{folder}: could not write face.png");
        File.WriteAllText(Path.Combine(folder, "mesh.json"), JsonSerializer.Serialize(face.Mesh.Select(p => new[] { p.X, p.Y }), Json));
        File.WriteAllText(Path.Combine(folder, "identity.json"), JsonSerializer.Serialize(record, Json));
    }

    public (IdentityRecord Record, SourceFace Face) Load(string id)
    {
        var folder = Folder(id);
        if (!System.IO.Directory.Exists(folder))
            throw new FileNotFoundException($"{folder}: no identity '{id}' (make the demo's with 'fsc identities make-average')");
        var record = JsonSerializer.Deserialize<IdentityRecord>(File.ReadAllText(Path.Combine(folder, "identity.json")), Json)
            ?? throw new InvalidDataException($"{folder}/identity.json is empty");
        var mesh = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(Path.Combine(folder, "mesh.json")))
            ?? throw new InvalidDataException($"{folder}/mesh.json is empty");
        var texture = Cv2.ImRead(Path.Combine(folder, "face.png"), ImreadModes.Color);
        if (texture.Empty()) throw new InvalidDataException($"{folder}/face.png is not a readable image");
        return (record, new SourceFace(texture, mesh.Select(p => new Point2f(p[0], p[1])).ToArray()));
    }

    // Ids become folder names: nothing that could leave the store.
    private string Folder(string id) =>
        id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? Path.Combine(Directory, id)
            : throw new ArgumentException($"identity id '{id}' must be letters, digits, '-' or '_'");
}
