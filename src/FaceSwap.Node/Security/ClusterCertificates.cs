using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FaceSwap.Node.Security;

/// <summary>
/// The cluster's own certificate authority and the node certificates it issues (<c>fsc certs</c>): a node presents
/// its certificate on every remoting connection, and accepts only peers whose certificate chains to this CA.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>A new CA: a self-signed P-256 certificate allowed to sign node certificates only.</summary>
    public static X509Certificate2 CreateAuthority(string name, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
    }

    /// <summary>A node certificate signed by <paramref name="authority"/> (which must hold its private key), for both ends of a TLS connection.</summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string node, IEnumerable<string> dnsNames, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames.Append(node).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (System.Net.IPAddress.TryParse(name, out var ip)) names.AddIpAddress(ip);
            else names.AddDnsName(name);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + lifetime < authority.NotAfter ? now + lifetime : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        using var issued = request.Create(authority, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the CA as PEM: the certificate (public, every node pins it) and its key (owner-only: it issues certificates).</summary>
    public static void WriteAuthority(X509Certificate2 authority, string certificateFile, string keyFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(certificateFile))!);
        File.WriteAllText(certificateFile, authority.ExportCertificatePem());
        WriteSecret(keyFile, authority.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public static X509Certificate2 LoadAuthority(string certificateFile, string keyFile) =>
        X509Certificate2.CreateFromPemFile(certificateFile, keyFile);

    /// <summary>Writes a node's certificate and its key as PEM (tls.crt, tls.key: a kubernetes.io/tls Secret's files), the key owner-only.</summary>
    public static void WriteNodePem(X509Certificate2 node, string certificateFile, string keyFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(certificateFile))!);
        File.WriteAllText(certificateFile, node.ExportCertificatePem());
        WriteSecret(keyFile, node.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Writes a node's certificate with its key as PKCS#12, owner-only.</summary>
    public static void WriteNode(X509Certificate2 node, string file, string? password) =>
        WriteSecret(file, node.Export(X509ContentType.Pkcs12, password));

    private static void WriteSecret(string file, object content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(file, options);
        stream.Write(content is string text ? System.Text.Encoding.ASCII.GetBytes(text) : (byte[])content);
    }
}
