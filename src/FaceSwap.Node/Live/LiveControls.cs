using System.Text.Json.Serialization;
using FaceSwap.Edge;

namespace FaceSwap.Node.Live;

/// <summary>
/// The live controls as the page and the API name them (docs/live.md): every key optional in a change, every key
/// set in an answer. <see cref="Apply"/> checks a change whole before any of it takes effect.
/// </summary>
public sealed record LiveControls
{
    [JsonPropertyName("selection")] public string? Selection { get; init; }
    [JsonPropertyName("enhancer")] public string? Enhancer { get; init; }
    [JsonPropertyName("enhanceStrength")] public float? EnhanceStrength { get; init; }
    [JsonPropertyName("blend")] public string? Blend { get; init; }
    [JsonPropertyName("color")] public string? Color { get; init; }
    [JsonPropertyName("detectEvery")] public int? DetectEvery { get; init; }
    [JsonPropertyName("failMode")] public string? FailMode { get; init; }
    [JsonPropertyName("label")] public string? Label { get; init; }

    private static readonly string[] Selections = ["All", "Largest", "Leftmost"];
    private static readonly string[] Blends = ["Feather", "Seamless"];
    private static readonly string[] Colors = ["LabStatistics", "None"];

    /// <summary>A change as JSON: <c>"enhancer": null</c> (or "") turns the enhancer off, an absent key leaves it.</summary>
    /// <exception cref="ArgumentException">not an object of these keys and types</exception>
    public static LiveControls Parse(System.Text.Json.JsonElement json)
    {
        if (json.ValueKind != System.Text.Json.JsonValueKind.Object) throw new ArgumentException("settings must be a JSON object");
        try
        {
            var change = System.Text.Json.JsonSerializer.Deserialize<LiveControls>(json, new System.Text.Json.JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow })!;
            return json.TryGetProperty("enhancer", out var enhancer) && enhancer.ValueKind == System.Text.Json.JsonValueKind.Null ? change with { Enhancer = "" } : change;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"settings: {e.Message} (keys: selection, enhancer, enhanceStrength, blend, color, detectEvery, failMode, label)", e);
        }
    }

    /// <summary>The current values, every key set (the enhancer is null when off).</summary>
    public static LiveControls Of(StreamControls.Values values, string configuredLabel) => new()
    {
        Selection = values.Swap.Selection,
        Enhancer = values.Swap.Enhancer,
        EnhanceStrength = values.Swap.EnhanceBlend,
        Blend = values.Swap.Blend,
        Color = values.Swap.Color ?? "LabStatistics",
        DetectEvery = values.Swap.DetectEvery,
        FailMode = values.FailMode.ToString(),
        Label = values.Label ?? configuredLabel,
    };

    /// <summary>This change laid over <paramref name="current"/>.</summary>
    /// <param name="enhancerPlaced">whether an enhancer of that name is placed on the farm (a stream asking for another would only fail its frames)</param>
    /// <exception cref="ArgumentException">a value out of range, named with what is allowed</exception>
    public StreamControls.Values Apply(StreamControls.Values current, Func<string, bool> enhancerPlaced)
    {
        var swap = current.Swap;
        if (Selection is not null) swap = swap with { Selection = OneOf(Selection, Selections, "selection") };
        if (Blend is not null) swap = swap with { Blend = OneOf(Blend, Blends, "blend") };
        if (Color is not null) swap = swap with { Color = OneOf(Color, Colors, "color") };
        if (DetectEvery is { } every)
            swap = swap with { DetectEvery = every is >= 1 and <= 60 ? every : throw new ArgumentException($"detectEvery {every} is not in [1, 60]") };
        if (EnhanceStrength is { } strength)
            swap = swap with { EnhanceBlend = strength is >= 0 and <= 1 ? strength : throw new ArgumentException($"enhanceStrength {strength} is not in [0, 1]") };
        if (Enhancer is not null)
        {
            var name = Enhancer.Trim();
            if (name.Length > 0 && !enhancerPlaced(name))
                throw new ArgumentException($"enhancer '{name}' is not placed on any worker of this farm (see 'fsc models placement')");
            swap = swap with { Enhancer = name.Length == 0 ? null : name };
        }
        var failMode = FailMode is null ? current.FailMode
            : Enum.TryParse<Edge.FailMode>(FailMode, ignoreCase: true, out var mode) && Enum.IsDefined(mode) ? mode
            : throw new ArgumentException($"failMode '{FailMode}' is not one of Blur, Hold, Passthrough");
        var label = current.Label;
        if (Label is not null)
        {
            var text = Label.Trim();
            // The label can change, not go: it is the output's visible mark (ARCHITECTURE.md, responsible use).
            if (text.Length is < 1 or > 64 || text.Any(c => c is < ' ' or > '~'))
                throw new ArgumentException("label must be 1 to 64 printable ASCII characters (the label cannot be turned off from a stream)");
            label = text;
        }
        return new StreamControls.Values(swap, failMode, label);
    }

    private static string OneOf(string value, string[] allowed, string key) =>
        allowed.FirstOrDefault(a => a.Equals(value, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"{key} '{value}' is not one of {string.Join(", ", allowed)}");
}
