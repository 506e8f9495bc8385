using FaceSwap.Governance.Consent;
using FaceSwap.Swap;
using FaceSwap.Swap.Identities;

namespace FaceSwap.Cluster.Worker;

/// <summary>A source face for one stream, held while its consent holds: <see cref="Consent"/> is cancelled when it ends.</summary>
public sealed class SourceLease(SourceFace face, CancellationToken consent, IDisposable? release = null) : IDisposable
{
    public SourceFace Face { get; } = face;
    public CancellationToken Consent { get; } = consent;

    public void Dispose()
    {
        release?.Dispose();
        Face.Dispose();
    }
}

/// <summary>Where the swap entities get a stream's source identity.</summary>
public interface ISourceFaces
{
    /// <exception cref="ConsentException">the identity has no consent for live streams</exception>
    SourceLease Open(string identityId);
}

/// <summary>The identity store behind the consent registry: an identity is opened only with consent for <see cref="ConsentScopes.Stream"/>, and watched.</summary>
public sealed class ConsentedSourceFaces(IdentityStore identities, ConsentRegistry consent) : ISourceFaces
{
    public SourceLease Open(string identityId)
    {
        var lease = consent.Watch(identityId, ConsentScopes.Stream);
        try
        {
            var (_, face) = identities.Load(identityId);
            return new SourceLease(face, lease.Token, lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }
}
