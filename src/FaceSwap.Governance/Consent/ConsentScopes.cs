namespace FaceSwap.Governance.Consent;

/// <summary>
/// The fixed vocabulary of what a person can consent to. <see cref="File"/>: file jobs (image and video files);
/// <see cref="Stream"/>: live streams; <see cref="Eval"/>: the quality harness; <see cref="All"/>: every use, including
/// uses added later.
/// </summary>
public static class ConsentScopes
{
    public const string File = "file";
    public const string Stream = "stream";
    public const string Eval = "eval";
    public const string All = "all";

    /// <summary>Every scope a consent record may name.</summary>
    public static IReadOnlyList<string> Valid { get; } = [File, Stream, Eval, All];

    /// <summary>Checks one scope against the vocabulary.</summary>
    /// <exception cref="ArgumentException">The scope is not in <see cref="Valid"/>.</exception>
    public static string Validate(string scope, string paramName = "scope")
    {
        ArgumentNullException.ThrowIfNull(scope, paramName);
        if (!Valid.Contains(scope, StringComparer.Ordinal))
            throw new ArgumentException($"Unknown consent scope '{scope}': valid scopes are {string.Join(", ", Valid)}.", paramName);
        return scope;
    }

    /// <summary>Checks a set of scopes; a consent must name at least one.</summary>
    public static IReadOnlySet<string> Parse(IEnumerable<string> scopes, string paramName = "scopes")
    {
        ArgumentNullException.ThrowIfNull(scopes, paramName);
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
            set.Add(Validate(scope, paramName));
        if (set.Count == 0)
            throw new ArgumentException($"A consent names at least one scope: valid scopes are {string.Join(", ", Valid)}.", paramName);
        return set;
    }

    /// <summary>Whether consent to <paramref name="granted"/> covers a use in <paramref name="scope"/>.</summary>
    public static bool Covers(IReadOnlySet<string> granted, string scope) => granted.Contains(All) || granted.Contains(scope);
}
