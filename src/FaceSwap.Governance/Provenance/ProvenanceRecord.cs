using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace FaceSwap.Governance.Provenance;

/// <summary>A model that took part in making an output, pinned by its file's SHA-256 (lower-case hex).</summary>
public sealed record ProvenanceModel(string Name, string Sha256);

/// <summary>
/// What made an output file: the file itself (name, SHA-256, size), the source identity, the models, the settings,
/// when, where and in which session. Signed into the output's sidecar by <see cref="ProvenanceSigner"/>.
/// </summary>
/// <param name="OutputFileName">The output's file name without its folder, which says nothing about where it now lies.</param>
/// <param name="OutputSha256">The output's SHA-256, lower-case hex.</param>
/// <param name="OutputSize">The output's length in bytes.</param>
/// <param name="SourceIdentityId">The consented identity whose face was swapped in.</param>
/// <param name="Models">The models used, in the order they ran.</param>
/// <param name="Settings">The settings that shaped the output (label, watermark, blend…).</param>
public sealed record ProvenanceRecord(
    int FormatVersion,
    string OutputFileName,
    string OutputSha256,
    long OutputSize,
    string SourceIdentityId,
    IReadOnlyList<ProvenanceModel> Models,
    IReadOnlyDictionary<string, string> Settings,
    DateTimeOffset CreatedAt,
    string Node,
    string SessionId)
{
    /// <summary>The only format this code writes and verifies.</summary>
    public const int CurrentFormatVersion = 1;

    // UTC to the tick with a literal Z: one spelling per instant, so the canonical bytes are fixed.
    const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>A record for an output file as it is on disk now: hashes and measures the file.</summary>
    public static ProvenanceRecord ForOutput(string outputPath, string sourceIdentityId, IEnumerable<ProvenanceModel> models,
        IReadOnlyDictionary<string, string> settings, DateTimeOffset createdAt, string node, string sessionId)
    {
        var (sha256, size) = HashFile(outputPath);
        return new ProvenanceRecord(CurrentFormatVersion, Path.GetFileName(outputPath), sha256, size, sourceIdentityId,
            [.. models], new SortedDictionary<string, string>(settings.ToDictionary(), StringComparer.Ordinal), createdAt, node, sessionId);
    }

    /// <summary>A file's SHA-256 (lower-case hex) and length, read once.</summary>
    public static (string Sha256, long Size) HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        var hash = SHA256.HashData(stream);
        return (Convert.ToHexStringLower(hash), stream.Length);
    }

    /// <summary>
    /// The bytes that are signed: the record as compact UTF-8 JSON with properties in declaration order, models in
    /// their order, settings sorted by ordinal key, numbers in invariant form, and the time as UTC to the tick.
    /// </summary>
    public byte[] CanonicalBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            WriteJson(writer);
        return buffer.ToArray();
    }

    internal void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("formatVersion", FormatVersion);
        writer.WriteString("outputFileName", OutputFileName);
        writer.WriteString("outputSha256", OutputSha256);
        writer.WriteNumber("outputSize", OutputSize);
        writer.WriteString("sourceIdentityId", SourceIdentityId);
        writer.WriteStartArray("models");
        foreach (var model in Models)
        {
            writer.WriteStartObject();
            writer.WriteString("name", model.Name);
            writer.WriteString("sha256", model.Sha256);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartObject("settings");
        foreach (var (key, value) in Settings.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            writer.WriteString(key, value);
        writer.WriteEndObject();
        writer.WriteString("createdAt", CreatedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
        writer.WriteString("node", Node);
        writer.WriteString("sessionId", SessionId);
        writer.WriteEndObject();
    }

    /// <summary>Reads a record written by <see cref="WriteJson"/>; anything missing, extra, repeated or mistyped is refused.</summary>
    /// <exception cref="FormatException">What is wrong, and where.</exception>
    internal static ProvenanceRecord ReadJson(JsonElement element)
    {
        var fields = StrictJson.Properties(element, "record",
            "formatVersion", "outputFileName", "outputSha256", "outputSize", "sourceIdentityId", "models", "settings", "createdAt", "node", "sessionId");
        var models = new List<ProvenanceModel>();
        foreach (var model in StrictJson.Array(fields["models"], "record.models"))
        {
            var modelFields = StrictJson.Properties(model, "record.models[]", "name", "sha256");
            models.Add(new ProvenanceModel(StrictJson.String(modelFields["name"], "record.models[].name"),
                StrictJson.String(modelFields["sha256"], "record.models[].sha256")));
        }
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in StrictJson.Map(fields["settings"], "record.settings"))
            settings.Add(key, StrictJson.String(value, $"record.settings.{key}"));
        var createdAtText = StrictJson.String(fields["createdAt"], "record.createdAt");
        if (!DateTime.TryParseExact(createdAtText, TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var createdAt))
            throw new FormatException($"record.createdAt '{createdAtText}' is not a UTC time of the form {TimeFormat}.");
        return new ProvenanceRecord(
            StrictJson.Int32(fields["formatVersion"], "record.formatVersion"),
            StrictJson.String(fields["outputFileName"], "record.outputFileName"),
            StrictJson.String(fields["outputSha256"], "record.outputSha256"),
            StrictJson.Int64(fields["outputSize"], "record.outputSize"),
            StrictJson.String(fields["sourceIdentityId"], "record.sourceIdentityId"),
            models,
            settings,
            new DateTimeOffset(createdAt, TimeSpan.Zero),
            StrictJson.String(fields["node"], "record.node"),
            StrictJson.String(fields["sessionId"], "record.sessionId"));
    }
}
