namespace FaceSwap.Governance.Consent;

/// <summary>Why an identity may not be used.</summary>
public enum ConsentDenial
{
    /// <summary>No consent was ever registered for the id.</summary>
    Unregistered,
    /// <summary>The consent was revoked.</summary>
    Revoked,
    /// <summary>The consent's expiry has passed.</summary>
    Expired,
    /// <summary>The consent does not cover this use.</summary>
    OutOfScope,
    /// <summary>A watch could not read the registry, so it can no longer vouch for the consent.</summary>
    Unverifiable,
}

/// <summary>An identity was about to be used without consent that covers the use.</summary>
public sealed class ConsentException(string identityId, string scope, ConsentDenial denial, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string IdentityId { get; } = identityId;
    public string Scope { get; } = scope;
    public ConsentDenial Denial { get; } = denial;
}
