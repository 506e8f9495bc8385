using Akka.Configuration;
using FaceSwap.Inference.Models;
using FaceSwap.Vision.Marks;

namespace FaceSwap.Cluster.Configuration;

/// <summary>
/// The settings fsc runs with: <c>config/faceswap.conf</c> (HOCON), or the file <c>$FSC_CONFIG</c> names falling
/// back to it, then the few environment variables the file lists. Paths come out absolute.
/// </summary>
public sealed record FscSettings(
    string NodeName,
    string Actor,
    LabelOptions Label,
    string SigningKey,
    IReadOnlyList<string> TrustedKeys,
    string ConsentDatabase,
    string AuditDatabase,
    string IdentityStore,
    IReadOnlyDictionary<string, FaceSwap.Inference.Runtime.Precision> ModelPrecision,
    string Source)
{
    public static string DefaultFile => Path.Combine(RepositoryPaths.Root, "config", "faceswap.conf");

    // Environment overrides, applied over the files (HOCON's ${?VAR} is not resolved by Akka's parser).
    private static readonly (string Variable, string Path)[] Overrides =
    [
        ("FSC_NODE_NAME", "faceswap.node-name"),
        ("FSC_SIGNING_KEY", "faceswap.provenance.signing-key"),
        ("FSC_CONSENT_DB", "faceswap.governance.consent-database"),
        ("FSC_AUDIT_DB", "faceswap.governance.audit-database"),
        ("FSC_IDENTITY_STORE", "faceswap.identities.store"),
    ];

    /// <summary>The environment variables fsc's settings read, with the config path each overrides.</summary>
    public static IReadOnlyList<(string Variable, string Path)> EnvironmentOverrides => Overrides;

    /// <summary>The merged HOCON (the default file, <c>$FSC_CONFIG</c> over it, then the environment overrides) and where it came from.</summary>
    /// <param name="extraOverrides">more environment variable → config path pairs (the node host's)</param>
    public static (Config Config, string Source) LoadConfig(IEnumerable<(string Variable, string Path)>? extraOverrides = null)
    {
        var source = DefaultFile;
        var config = Parse(DefaultFile);
        if (Environment.GetEnvironmentVariable("FSC_CONFIG") is { Length: > 0 } file)
        {
            config = Parse(file).WithFallback(config);
            source = $"{Path.GetFullPath(file)} (over {DefaultFile})";
        }
        foreach (var (variable, path) in Overrides.Concat(extraOverrides ?? []))
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
                config = ConfigurationFactory.ParseString($"{path} = {Quote(value)}").WithFallback(config);
        return (config, source);
    }

    public static FscSettings Load()
    {
        var (config, source) = LoadConfig();
        return From(config, source);
    }

    /// <summary>The settings in <paramref name="config"/>, already loaded (the node host reads the files once for all its sections).</summary>
    public static FscSettings From(Config config, string source)
    {
        var trusted = Environment.GetEnvironmentVariable("FSC_TRUSTED_KEYS") is { Length: > 0 } keys
            ? keys.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : config.GetStringList("faceswap.provenance.trusted-keys").ToList();

        var label = new LabelOptions
        {
            Enabled = config.GetBoolean("faceswap.marks.label.enabled", true),
            Text = config.GetString("faceswap.marks.label.text", VisibleLabel.DefaultText),
            Corner = ParseCorner(config.GetString("faceswap.marks.label.corner", "bottom-right")),
            Scale = config.GetDouble("faceswap.marks.label.scale", 1.0),
        }.Validate();
        var node = config.GetString("faceswap.node-name", "local");
        if (string.IsNullOrWhiteSpace(node)) throw new ArgumentException($"{source}: faceswap.node-name must not be empty");
        return new FscSettings(
            node,
            Environment.GetEnvironmentVariable("FSC_ACTOR") is { Length: > 0 } actor ? actor : Environment.UserName,
            label,
            Absolute(Required(config, "faceswap.provenance.signing-key", source)),
            trusted.Select(Absolute).ToList(),
            Database(Required(config, "faceswap.governance.consent-database", source)),
            Database(Required(config, "faceswap.governance.audit-database", source)),
            Absolute(Required(config, "faceswap.identities.store", source)),
            Precision(config.GetConfig("faceswap.models.precision")),
            source);
    }

    /// <summary>faceswap.models.precision: model name → fp32 or fp16.</summary>
    private static Dictionary<string, FaceSwap.Inference.Runtime.Precision> Precision(Config? section) =>
        section is null || section.IsEmpty ? []
            : section.AsEnumerable().ToDictionary(e => e.Key.Trim('"'), e => FaceSwap.Inference.Runtime.Precisions.Parse(e.Value.GetString()));

    private static Config Parse(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: config file not found");
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(file));
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new ArgumentException($"{file}: not valid HOCON: {e.Message}", e);
        }
    }

    private static string Required(Config config, string path, string source) =>
        config.GetString(path, "") is { Length: > 0 } value ? value : throw new ArgumentException($"{source}: {path} is not set");

    private static LabelCorner ParseCorner(string corner) => corner switch
    {
        "bottom-right" => LabelCorner.BottomRight,
        "bottom-left" => LabelCorner.BottomLeft,
        "top-right" => LabelCorner.TopRight,
        "top-left" => LabelCorner.TopLeft,
        _ => throw new ArgumentException($"faceswap.marks.label.corner '{corner}' must be bottom-right, bottom-left, top-right or top-left"),
    };

    /// <summary>A PostgreSQL connection string as it is; an SQLite one with its file made absolute (the opener creates its folder).</summary>
    private static string Database(string connectionString)
    {
        if (Governance.GovernanceDatabase.KindOf(connectionString) == Governance.DatabaseKind.Postgres) return connectionString;
        // Unpooled: disposing the registry or the log closes the file, as a short-lived CLI process expects.
        var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString) { Pooling = false };
        if (builder.DataSource is { Length: > 0 } file && file != ":memory:") builder.DataSource = Absolute(file);
        return builder.ToString();
    }

    /// <summary>A configured path, relative to the repository root unless absolute.</summary>
    public static string Absolute(string path) => Path.GetFullPath(path, RepositoryPaths.Root);

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
