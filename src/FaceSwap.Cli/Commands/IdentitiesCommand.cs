using System.CommandLine;
using System.Globalization;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Swap.Identities;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc identities …</c>: the source identities a stream can swap in. Each is registered with a consent record
/// (who consents, when, for what); revoking one deletes its face data and stops every job using it.
/// </summary>
public static class IdentitiesCommand
{
    public static Command Create()
    {
        var identities = new Command("identities", "Source identities and their consent records: add, list, revoke, and the synthetic average face.");
        identities.Subcommands.Add(Add());
        identities.Subcommands.Add(List());
        identities.Subcommands.Add(Revoke());
        identities.Subcommands.Add(MakeAverage());
        return identities;
    }

    private static Command Add()
    {
        var image = new Argument<string>("image") { Description = "Photo of the person who consents, with exactly one face." };
        var consentBy = new Option<string>("--consent-by") { Description = "Who consents: the person in the photo (or their guardian).", Required = true };
        var scope = new Option<string[]>("--scope") { Description = $"What the consent covers: {string.Join(", ", ConsentScopes.Valid)} (repeat or comma-separate).", Required = true, AllowMultipleArgumentsPerToken = true };
        var expires = new Option<string?>("--expires") { Description = "When the consent ends: a date/time (2027-06-30, 2027-06-30T12:00Z) or a duration from now (90d, 12h)." };
        var note = new Option<string?>("--note") { Description = "Where the consent is documented (form number, ticket)." };
        var command = new Command("add", "Register a source identity with its consent record; prints the new identity's id on the last line.") { image, consentBy, scope, expires, note };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var settings = FscSettings.Load();
            var scopes = parse.GetValue(scope)!.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            var expiresAt = ParseExpiry(parse.GetValue(expires), DateTimeOffset.UtcNow);
            ConsentScopes.Parse(scopes); // a bad scope fails before the models load
            var path = parse.GetValue(image)!;

            using var logging = CliLogging.Create();
            using var analyzer = FaceAnalyzer.Open(new ModelStore(RepositoryPaths.ModelStore), new InferenceOptions(), DetectorOptions.Photos, logging.CreateLogger("fsc"));
            using var photo = ImageFile.ReadBgr(path);
            var record = IdentityRegistration.Register(settings, analyzer, photo, Path.GetFileName(path), parse.GetValue(consentBy)!, scopes, expiresAt,
                parse.GetValue(note), settings.Actor, logging.CreateLogger("consent"));
            Console.WriteLine($"registered: consent by {record.ConsentBy} for {string.Join(", ", record.Scopes.Order())}, " +
                $"expires {record.ExpiresAt?.ToString("u") ?? "never"}, recorded by {record.RecordedBy}");
            Console.WriteLine(record.IdentityId);
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "Registered identities with their consent (who, scopes, expiry) and revoked ones (tombstones: no personal data).");
        command.SetAction(_ => CliErrors.Run(() =>
        {
            var settings = FscSettings.Load();
            using var logging = CliLogging.Create();
            using var governance = CliGovernance.Open(settings, logging.CreateLogger("consent"));
            var now = DateTimeOffset.UtcNow;
            Console.WriteLine($"{"ID",-16} {"STATUS",-8} {"SCOPES",-18} {"GRANTED",-20} {"EXPIRES",-20} CONSENT BY");
            foreach (var r in governance.Consent.List())
                Console.WriteLine($"{r.IdentityId,-16} {(r.IsExpired(now) ? "expired" : "active"),-8} {string.Join(",", r.Scopes.Order()),-18} {r.GrantedAt,-20:u} {(r.ExpiresAt is { } e ? e.ToString("u") : "never"),-20} {r.ConsentBy}");
            foreach (var r in governance.Consent.ListRevocations())
                Console.WriteLine($"{r.IdentityId,-16} {"revoked",-8} {"-",-18} {"-",-20} {"-",-20} revoked {r.RevokedAt:u} by {r.RevokedBy}: {r.Reason}");
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var id = new Argument<string>("id") { Description = "Identity id." };
        var reason = new Option<string>("--reason") { Description = "Why (do not name the person).", DefaultValueFactory = _ => "consent withdrawn" };
        var command = new Command("revoke", "Revoke an identity: its face data is deleted and every job or stream using it stops within a second.") { id, reason };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var settings = FscSettings.Load();
            using var logging = CliLogging.Create();
            using var governance = CliGovernance.Open(settings, logging.CreateLogger("consent"));
            var revocation = governance.Consent.Revoke(parse.GetValue(id)!, settings.Actor, parse.GetValue(reason)!);
            governance.Audit.Append(settings.Actor, AuditKinds.IdentityRevoked, revocation.Reason, identity: revocation.IdentityId);
            Console.WriteLine($"revoked {revocation.IdentityId} at {revocation.RevokedAt:u}: consent record and face data deleted");
            return 0;
        }));
        return command;
    }

    private static Command MakeAverage()
    {
        var photos = new Option<string>("--photos") { Description = "Folder of photos to average (default: the sample photos of @vladmandic/face-api).", DefaultValueFactory = _ => RepositoryPaths.SamplePhotos };
        var pattern = new Option<string>("--pattern") { Description = "File pattern of the photos.", DefaultValueFactory = _ => "sample*.jpg" };
        var providers = AnalyzeCommand.ProviderOption();
        var command = new Command("make-average", $"Build a face that is nobody's (identity '{IdentityIds.Average}'): every near-frontal face of the photos warped to the mean mesh, textures averaged.")
            { photos, pattern, providers };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var folder = parse.GetValue(photos)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: photo folder not found");
            var files = Directory.GetFiles(folder, parse.GetValue(pattern)!).Order(StringComparer.Ordinal).ToList();
            DefaultPackBuilder.Build(RepositoryPaths.NodeModules, new ModelStore(RepositoryPaths.ModelStore), progress: line => Console.WriteLine($"models: {line}"));
            MakeAverage(FscSettings.Load(), files, parse.GetValue(providers)!);
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Builds the average face of <paramref name="files"/>, stores it as identity <c>average</c> (the pack must be
    /// built) and registers it: its consent record says it is synthetic, nobody's likeness.
    /// </summary>
    public static void MakeAverage(FscSettings settings, IReadOnlyList<string> files, string providers)
    {
        using var logging = CliLogging.Create();
        using var governance = CliGovernance.Open(settings, logging.CreateLogger("consent"));
        if (governance.Consent.GetRevocation(IdentityIds.Average) is { } revoked)
            throw new ArgumentException($"identity '{IdentityIds.Average}' was revoked at {revoked.RevokedAt:u} by {revoked.RevokedBy}; revoked ids are never reused");
        var models = new ModelStore(RepositoryPaths.ModelStore);
        using var analyzer = FaceAnalyzer.Open(models, new InferenceOptions { Providers = ExecutionProviders.Parse(providers) }, DetectorOptions.Photos, logging.CreateLogger("fsc"));
        var result = AverageFaceBuilder.Build(analyzer, files, Console.WriteLine);
        using var face = result.Face;
        var record = new IdentityRecord(IdentityIds.Average, "synthetic-average",
            $"average of {result.FacesUsed} near-frontal faces ({result.FacesSkipped} turned faces left out): nobody's face, so no one's likeness is swapped in without consent",
            files.Select(f => Path.GetFileName(f)).ToList(), result.FacesUsed, DateTimeOffset.UtcNow);
        var identities = new IdentityStore(settings.IdentityStore);
        identities.Save(record, face);
        if (governance.Consent.Get(IdentityIds.Average) is null)
        {
            governance.Consent.Register("nobody: synthetic average of the sample photos' faces", [ConsentScopes.All], settings.Actor,
                note: "synthetic identity built by fsc identities make-average", identityId: IdentityIds.Average);
            governance.Audit.Append(settings.Actor, AuditKinds.IdentityRegistered, "synthetic average face; scopes all", identity: IdentityIds.Average);
        }
        Console.WriteLine($"identity '{record.Id}': average of {result.FacesUsed} faces -> {Path.Combine(identities.Directory, record.Id)}");
    }

    /// <summary>An absolute date/time, or a duration from <paramref name="now"/> such as 90d, 12h or 30m.</summary>
    public static DateTimeOffset? ParseExpiry(string? text, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (char.IsAsciiDigit(text[0]) && CliTime.TryDuration(text, out var span) && span > TimeSpan.Zero) return now + span;
        if (CliTime.TryDate(text, out var at)) return at;
        throw new ArgumentException($"--expires '{text}' is neither a date/time (2027-06-30, 2027-06-30T12:00Z) nor a duration (90d, 12h, 30m)");
    }
}
