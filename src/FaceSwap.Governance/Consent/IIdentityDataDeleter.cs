namespace FaceSwap.Governance.Consent;

/// <summary>
/// Deletes what is stored about an identity outside the registry (face crops, embeddings, identity packs). The registry
/// calls every deleter it was given when the identity's consent is revoked.
/// </summary>
public interface IIdentityDataDeleter
{
    /// <summary>Deletes every trace of the identity; must succeed when nothing is left, since a failed revoke is retried.</summary>
    void DeleteIdentityData(string identityId);
}

/// <summary>Identity data kept as one folder per identity under a root: revoking deletes the identity's folder.</summary>
public sealed class IdentityFolderDeleter(string root) : IIdentityDataDeleter
{
    public string Root { get; } = Path.GetFullPath(root);

    public string FolderOf(string identityId) => Path.Combine(Root, IdentityIds.Validate(identityId));

    public void DeleteIdentityData(string identityId)
    {
        var folder = FolderOf(identityId);
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
    }
}
