namespace FaceSwap.Governance.Consent;

/// <summary>Who consented to their face being used as a source, when, for what, and who recorded it.</summary>
/// <param name="IdentityId">The identity's id: what jobs, packs and audit events name instead of the person.</param>
/// <param name="ConsentBy">The person who gave consent (the face's owner or their guardian).</param>
/// <param name="Scopes">What the consent covers, from <see cref="ConsentScopes"/>.</param>
/// <param name="RecordedBy">The operator who took the consent.</param>
public sealed record ConsentRecord(
    string IdentityId,
    string ConsentBy,
    IReadOnlySet<string> Scopes,
    DateTimeOffset GrantedAt,
    DateTimeOffset? ExpiresAt,
    string RecordedBy,
    string? Note)
{
    public bool Covers(string scope) => ConsentScopes.Covers(Scopes, scope);

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expiresAt && now >= expiresAt;
}

/// <summary>
/// What the registry keeps of a revoked identity: enough to say "revoked, when, by whom" and never to reuse the id,
/// and nothing about the person (their name and the consent's note are deleted with the consent).
/// </summary>
/// <param name="RevokedBy">The operator who revoked it.</param>
/// <param name="Reason">Why; an operator's words, which should not name the person either.</param>
public sealed record ConsentRevocation(string IdentityId, DateTimeOffset RevokedAt, string RevokedBy, string Reason);
