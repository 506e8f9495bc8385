using System.Security.Cryptography;

namespace FaceSwap.Governance.Provenance;

/// <summary>Signs provenance records with the node's private key and writes them beside their outputs.</summary>
public sealed class ProvenanceSigner : IDisposable
{
    readonly ECDsa _key;

    /// <summary>Takes ownership of a P-256 private key.</summary>
    public ProvenanceSigner(ECDsa privateKey)
    {
        _key = privateKey;
        KeyId = ProvenanceKeys.KeyId(privateKey);
    }

    /// <summary>Loads the private key from its PKCS#8 PEM file (see <see cref="ProvenanceKeys.LoadPrivateKey"/>).</summary>
    public static ProvenanceSigner Load(string privateKeyPath) => new(ProvenanceKeys.LoadPrivateKey(privateKeyPath));

    public string KeyId { get; }

    public ProvenanceSidecar Sign(ProvenanceRecord record)
    {
        if (record.FormatVersion != ProvenanceRecord.CurrentFormatVersion)
            throw new ArgumentException($"Cannot sign provenance format {record.FormatVersion}; this code writes format {ProvenanceRecord.CurrentFormatVersion}.", nameof(record));
        var signature = _key.SignData(record.CanonicalBytes(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new ProvenanceSidecar(record, Convert.ToBase64String(signature), KeyId, ProvenanceSidecar.EcdsaP256Sha256);
    }

    /// <summary>Signs the record and writes it to <c>&lt;output&gt;.provenance.json</c>; returns that path.</summary>
    public string WriteSidecar(string outputPath, ProvenanceRecord record)
    {
        if (Path.GetFileName(outputPath) != record.OutputFileName)
            throw new ArgumentException($"The record describes '{record.OutputFileName}', not {outputPath}.", nameof(record));
        var path = ProvenanceSidecar.PathFor(outputPath);
        File.WriteAllText(path, Sign(record).ToJson());
        return path;
    }

    public void Dispose() => _key.Dispose();
}
