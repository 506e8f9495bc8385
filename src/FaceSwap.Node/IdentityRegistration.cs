using FaceSwap.Cluster.Configuration;
using FaceSwap.Faces;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Swap.Identities;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node;

/// <summary>
/// Registers a source identity, as <c>fsc identities add</c> and the live page do: the photo's one face, its
/// consent record, its face data in the identity store, and the audit entry. No record without its face, and no
/// face without its record.
/// </summary>
public static class IdentityRegistration
{
    /// <exception cref="ArgumentException">the photo does not show exactly one face, or a scope is unknown</exception>
    public static ConsentRecord Register(FscSettings settings, FaceAnalyzer analyzer, Mat photo, string photoName, string consentBy,
        IReadOnlyCollection<string> scopes, DateTimeOffset? expiresAt, string? note, string actor, ILogger logger)
    {
        ConsentScopes.Parse(scopes);
        if (string.IsNullOrWhiteSpace(consentBy)) throw new ArgumentException("who consents is required: the person in the photo (or their guardian)");
        var faces = analyzer.Analyze(BgrImage.Of(photo));
        if (faces.Count != 1)
            throw new ArgumentException($"{photoName}: {faces.Count} faces found; a consent photo must show exactly one face, the consenting person's (crop it)");

        using var consent = new ConsentRegistry(settings.ConsentDatabase, [new IdentityFolderDeleter(settings.IdentityStore)], logger: logger);
        var record = consent.Register(consentBy.Trim(), scopes, actor, expiresAt, note);
        try
        {
            using var face = SwapEvaluation.SourceFrom(photo, faces[0]);
            new IdentityStore(settings.IdentityStore).Save(new IdentityRecord(record.IdentityId, "registered", "registered with a consent record",
                [photoName], 1, record.GrantedAt), face);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Storing the face of identity {Identity} failed; revoking the consent just recorded", record.IdentityId);
            consent.Revoke(record.IdentityId, actor, "registration failed: face data could not be stored");
            throw;
        }
        using var audit = new AuditLog(settings.AuditDatabase, settings.NodeName);
        audit.Append(actor, AuditKinds.IdentityRegistered,
            $"scopes {string.Join(",", record.Scopes.Order())}; expires {record.ExpiresAt?.ToString("O") ?? "never"}", identity: record.IdentityId);
        return record;
    }
}
