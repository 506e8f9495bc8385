using System.Security.Cryptography;
using System.Text.Json;

namespace FaceSwap.Inference.Models;

/// <summary>
/// A folder of models, each file beside its manifest (<c>name.manifest.json</c>).
/// Nothing leaves the store for loading unless its sha256 matches the manifest.
/// </summary>
public sealed class ModelStore(string directory)
{
    public const string ManifestSuffix = ".manifest.json";

    public string Directory { get; } = System.IO.Path.GetFullPath(directory);

    public IReadOnlyList<ModelManifest> List() =>
        !System.IO.Directory.Exists(Directory) ? [] :
        System.IO.Directory.GetFiles(Directory, "*" + ManifestSuffix).Order(StringComparer.Ordinal).Select(ReadManifest).ToList();

    public bool Contains(string name) => File.Exists(ManifestPath(name));

    public ModelManifest Get(string name)
    {
        var path = ManifestPath(name);
        if (!File.Exists(path))
            throw new ModelStoreException(path, $"no model '{name}' in the store at {Directory} (build the default pack with 'fsc models build-default')");
        return ReadManifest(path);
    }

    /// <summary>The model file's path, after its sha256 has been checked against the manifest.</summary>
    public string VerifiedPath(ModelManifest manifest)
    {
        var path = ModelPath(manifest);
        if (!File.Exists(path))
            throw new ModelStoreException(path, $"model file of '{manifest.Name}' is missing");
        var actual = Sha256Of(path);
        if (!string.Equals(actual, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelStoreException(path, $"sha256 {actual} does not match the manifest's {manifest.Sha256}: the file was changed or replaced; refusing to load it");
        return path;
    }

    public string ModelPath(ModelManifest manifest)
    {
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(Directory, manifest.File));
        if (!path.StartsWith(Directory + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ModelStoreException(path, $"manifest of '{manifest.Name}' points outside the store");
        return path;
    }

    /// <summary>Writes the model file and then its manifest (with the file's hash), each atomically.</summary>
    public ModelManifest Add(ModelManifest manifest, ReadOnlySpan<byte> model)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var stored = manifest with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(model)) };
        WriteAtomically(ModelPath(stored), model);
        WriteAtomically(ManifestPath(stored.Name), JsonSerializer.SerializeToUtf8Bytes(stored, ModelManifest.Json));
        return stored;
    }

    /// <summary>The manifest's path; a name that is not a plain file name (a path, a parent step, a hidden file) is refused, so it stays in the store.</summary>
    public string ManifestPath(string name) => System.IO.Path.Combine(Directory, CheckName(name) + ManifestSuffix);

    /// <summary>Model names come from operators and the network: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    public static string CheckName(string name)
    {
        if (name.Length is 0 or > 128 || name[0] == '.' || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException($"'{name}' is not a model name: 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'");
        return name;
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static ModelManifest ReadManifest(string path)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllBytes(path), ModelManifest.Json)
                ?? throw new ModelStoreException(path, "manifest is empty");
            if (manifest.File.Length == 0 || manifest.File.IndexOfAny(['\0', .. System.IO.Path.GetInvalidPathChars()]) >= 0)
                throw new ModelStoreException(path, $"manifest names no usable model file ('{manifest.File}')");
            return manifest;
        }
        catch (JsonException e)
        {
            throw new ModelStoreException(path, $"manifest is not valid: {e.Message}", e);
        }
    }

    private static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp"; // unique: test processes may build the same store at once
        File.WriteAllBytes(temp, bytes.ToArray());
        File.Move(temp, path, overwrite: true);
    }
}
