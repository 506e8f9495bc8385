using System.Text.Json;

namespace FaceSwap.Governance.Provenance;

/// <summary>Reads the sidecar's JSON exactly: what the signature does not cover must not be there at all.</summary>
internal static class StrictJson
{
    /// <summary>An object's properties, which must be exactly <paramref name="names"/>, each once.</summary>
    public static Dictionary<string, JsonElement> Properties(JsonElement element, string where, params string[] names)
    {
        var properties = Map(element, where);
        var missing = names.Where(name => !properties.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new FormatException($"{where} lacks {string.Join(", ", missing)}.");
        var extra = properties.Keys.Where(key => !names.Contains(key)).ToList();
        if (extra.Count > 0)
            throw new FormatException($"{where} has unexpected {string.Join(", ", extra)}.");
        return properties;
    }

    /// <summary>An object's properties in any number, each name once.</summary>
    public static Dictionary<string, JsonElement> Map(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{where} is {element.ValueKind}, not an object.");
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            if (!properties.TryAdd(property.Name, property.Value))
                throw new FormatException($"{where} has '{property.Name}' twice.");
        return properties;
    }

    public static JsonElement.ArrayEnumerator Array(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray() : throw new FormatException($"{where} is {element.ValueKind}, not an array.");

    public static string String(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw new FormatException($"{where} is {element.ValueKind}, not a string.");

    public static int Int32(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value) ? value : throw new FormatException($"{where} is not a whole number.");

    public static long Int64(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) ? value : throw new FormatException($"{where} is not a whole number.");
}
