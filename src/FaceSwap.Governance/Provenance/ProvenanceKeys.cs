using System.Security.Cryptography;

namespace FaceSwap.Governance.Provenance;

/// <summary>
/// The provenance signing key pair: an ECDSA P-256 private key as PKCS#8 PEM, readable by its owner only, and its
/// public key as SubjectPublicKeyInfo PEM, which verifiers pin.
/// </summary>
public static class ProvenanceKeys
{
    const string P256Oid = "1.2.840.10045.3.1.7";
    const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                      | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Makes a new key pair and writes it; the private key file is created with mode 0600.</summary>
    /// <returns>The new key's id (see <see cref="KeyId"/>).</returns>
    /// <exception cref="IOException">Either file exists already: a signing key is never overwritten.</exception>
    public static string Generate(string privateKeyPath, string publicKeyPath)
    {
        foreach (var path in (string[])[privateKeyPath, publicKeyPath])
            if (File.Exists(path))
                throw new IOException($"{path} exists already; a provenance key is never overwritten: move it away or choose another path.");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;  // born private: no moment readable by others
        using (var writer = new StreamWriter(Path.GetFullPath(privateKeyPath), options))
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicKeyPath, key.ExportSubjectPublicKeyInfoPem());
        return KeyId(key);
    }

    /// <summary>Loads a private key; refuses one that others can read, as ssh does.</summary>
    /// <exception cref="UnauthorizedAccessException">The file is readable or writable by group or others.</exception>
    /// <exception cref="CryptographicException">The file holds no P-256 private key.</exception>
    public static ECDsa LoadPrivateKey(string path)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0)
            throw new UnauthorizedAccessException(
                $"Provenance private key {path} is open to group or others (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}): run chmod 600 on it.");
        return FromPem(File.ReadAllText(path), path, requirePrivate: true);
    }

    /// <summary>A public key from SubjectPublicKeyInfo PEM text.</summary>
    /// <exception cref="CryptographicException">The text holds no P-256 public key.</exception>
    public static ECDsa PublicKeyFromPem(string publicKeyPem) => FromPem(publicKeyPem, "the public key PEM", requirePrivate: false);

    /// <summary>A key's id: SHA-256 of its SubjectPublicKeyInfo DER, lower-case hex (what openssl pkey -pubout -outform DER | sha256sum prints).</summary>
    public static string KeyId(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));

    static ECDsa FromPem(string pem, string source, bool requirePrivate)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            var curve = key.ExportParameters(includePrivateParameters: false).Curve.Oid;
            if (curve?.Value != P256Oid)
                throw new CryptographicException(
                    $"{source} is not a P-256 key (curve {curve?.FriendlyName ?? curve?.Value ?? "unnamed"}); provenance uses {ProvenanceSidecar.EcdsaP256Sha256}.");
            if (requirePrivate && !pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
                throw new CryptographicException($"{source} holds a public key only; signing needs the PKCS#8 private key.");
            return key;
        }
        catch (CryptographicException)
        {
            key.Dispose();
            throw;
        }
        catch (ArgumentException e)
        {
            key.Dispose();
            throw new CryptographicException($"{source} holds no EC key in PEM form: {e.Message}", e);
        }
    }
}
