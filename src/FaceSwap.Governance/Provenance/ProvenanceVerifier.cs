using System.Security.Cryptography;

namespace FaceSwap.Governance.Provenance;

/// <summary>What verifying an output's provenance found; the first check that failed, in the order listed.</summary>
public enum ProvenanceStatus
{
    Valid,
    /// <summary>The output file is not there.</summary>
    OutputMissing,
    /// <summary>There is no sidecar beside the output.</summary>
    NoSidecar,
    /// <summary>The sidecar is not JSON, or not of the sidecar's form.</summary>
    Malformed,
    /// <summary>The sidecar names an algorithm or format version this code does not verify.</summary>
    Unsupported,
    /// <summary>The signing key is not one of the pinned keys.</summary>
    UnknownKey,
    /// <summary>The signature does not match the record under the named key: the record was changed, or signed by another key.</summary>
    BadSignature,
    /// <summary>The output's name, size or SHA-256 is not the record's: the file was changed or swapped.</summary>
    OutputMismatch,
}

/// <param name="Detail">What failed, on which file, in words.</param>
/// <param name="Record">The record, once the signature has held.</param>
public sealed record ProvenanceVerification(ProvenanceStatus Status, string Detail, ProvenanceRecord? Record = null)
{
    public bool IsValid => Status == ProvenanceStatus.Valid;
}

/// <summary>Verifies outputs against their sidecars, trusting only the pinned public keys.</summary>
public sealed class ProvenanceVerifier : IDisposable
{
    readonly Dictionary<string, ECDsa> _trusted = new(StringComparer.Ordinal);

    /// <param name="trustedPublicKeysPem">SubjectPublicKeyInfo PEM texts of the keys whose signatures count.</param>
    public ProvenanceVerifier(IEnumerable<string> trustedPublicKeysPem)
    {
        foreach (var pem in trustedPublicKeysPem)
        {
            var key = ProvenanceKeys.PublicKeyFromPem(pem);
            if (!_trusted.TryAdd(ProvenanceKeys.KeyId(key), key))
                key.Dispose();  // the same key pinned twice
        }
        if (_trusted.Count == 0)
            throw new ArgumentException("A provenance verifier needs at least one trusted public key.", nameof(trustedPublicKeysPem));
    }

    public ProvenanceVerifier(params string[] trustedPublicKeysPem) : this((IEnumerable<string>)trustedPublicKeysPem)
    {
    }

    /// <summary>The ids of the pinned keys.</summary>
    public IReadOnlyCollection<string> TrustedKeyIds => _trusted.Keys;

    /// <summary>Checks the output's sidecar (by default <c>&lt;output&gt;.provenance.json</c>), its signature, and the output's bytes.</summary>
    public ProvenanceVerification Verify(string outputPath, string? sidecarPath = null)
    {
        sidecarPath ??= ProvenanceSidecar.PathFor(outputPath);
        if (!File.Exists(outputPath))
            return new(ProvenanceStatus.OutputMissing, $"Output {outputPath} does not exist.");
        if (!File.Exists(sidecarPath))
            return new(ProvenanceStatus.NoSidecar, $"{outputPath} has no provenance sidecar at {sidecarPath}.");

        ProvenanceSidecar sidecar;
        try
        {
            sidecar = ProvenanceSidecar.Parse(File.ReadAllText(sidecarPath));
        }
        catch (FormatException e)
        {
            return new(ProvenanceStatus.Malformed, $"{sidecarPath}: {e.Message}");
        }
        if (sidecar.Algorithm != ProvenanceSidecar.EcdsaP256Sha256)
            return new(ProvenanceStatus.Unsupported, $"{sidecarPath} is signed with '{sidecar.Algorithm}'; only {ProvenanceSidecar.EcdsaP256Sha256} is verified.");
        if (sidecar.Record.FormatVersion != ProvenanceRecord.CurrentFormatVersion)
            return new(ProvenanceStatus.Unsupported, $"{sidecarPath} has format {sidecar.Record.FormatVersion}; this code verifies format {ProvenanceRecord.CurrentFormatVersion}.");
        if (!_trusted.TryGetValue(sidecar.KeyId, out var key))
            return new(ProvenanceStatus.UnknownKey, $"{sidecarPath} is signed by key {sidecar.KeyId}, which is not pinned (trusted: {string.Join(", ", _trusted.Keys)}).");

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(sidecar.Signature);
        }
        catch (FormatException)
        {
            return new(ProvenanceStatus.Malformed, $"{sidecarPath}: the signature is not base64.");
        }
        if (!key.VerifyData(sidecar.Record.CanonicalBytes(), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
            return new(ProvenanceStatus.BadSignature, $"{sidecarPath}: the signature does not match the record under key {sidecar.KeyId}; the record was altered or signed by another key.");

        var record = sidecar.Record;
        var name = Path.GetFileName(outputPath);
        if (name != record.OutputFileName)
            return new(ProvenanceStatus.OutputMismatch, $"The sidecar describes '{record.OutputFileName}', not '{name}'.", record);
        var (sha256, size) = ProvenanceRecord.HashFile(outputPath);
        if (size != record.OutputSize)
            return new(ProvenanceStatus.OutputMismatch, $"{outputPath} is {size} bytes; the signed record says {record.OutputSize}.", record);
        if (sha256 != record.OutputSha256)
            return new(ProvenanceStatus.OutputMismatch, $"{outputPath} has SHA-256 {sha256}; the signed record says {record.OutputSha256}.", record);
        return new(ProvenanceStatus.Valid, $"{outputPath} matches its provenance, signed by key {sidecar.KeyId}.", record);
    }

    public void Dispose()
    {
        foreach (var key in _trusted.Values)
            key.Dispose();
    }
}
