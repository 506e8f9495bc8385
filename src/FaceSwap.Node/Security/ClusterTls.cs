using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;
using FaceSwap.Cluster.Configuration;

namespace FaceSwap.Node.Security;

/// <summary>The <c>faceswap.node.tls</c> section: mutual TLS on remoting, with the cluster's own CA pinned.</summary>
/// <param name="Certificate">the node's certificate: PKCS#12 with its key, or PEM when <paramref name="Key"/> names the key's PEM file (a kubernetes.io/tls Secret's tls.crt and tls.key)</param>
public sealed record TlsSettings(bool Enabled, string Certificate, string? Key, string? Password, string Authority)
{
    public static TlsSettings Off { get; } = new(false, "", null, null, "");

    public static TlsSettings From(Config config) => new(
        config.GetBoolean("faceswap.node.tls.enabled", false),
        FscSettings.Absolute(config.GetString("faceswap.node.tls.certificate", ".cache/tls/node.pfx")),
        config.GetString("faceswap.node.tls.key", "") is { Length: > 0 } key ? FscSettings.Absolute(key) : null,
        config.GetString("faceswap.node.tls.password", "") is { Length: > 0 } password ? password : null,
        FscSettings.Absolute(config.GetString("faceswap.node.tls.ca", ".cache/tls/ca.crt")));
}

/// <summary>
/// Remoting over mutual TLS: every connection, both ways, presents this node's certificate and must be answered
/// with a certificate that chains to the cluster's CA, that CA and no other (the machine's trusted roots are not
/// asked: a valid certificate from a public or another private CA is refused). A node without a certificate from
/// the CA cannot open a connection, so it cannot join or send a message.
/// </summary>
public static class ClusterTls
{
    public static DotNettySslSetup Setup(TlsSettings settings)
    {
        if (!File.Exists(settings.Certificate))
            throw new FileNotFoundException($"{settings.Certificate}: no node certificate for remoting TLS (faceswap.node.tls.certificate); issue one with 'fsc certs node'");
        if (!File.Exists(settings.Authority))
            throw new FileNotFoundException($"{settings.Authority}: no cluster CA certificate to pin (faceswap.node.tls.ca); make one with 'fsc certs ca'");
        if (settings.Key is not null && !File.Exists(settings.Key))
            throw new FileNotFoundException($"{settings.Key}: no key for the node certificate {settings.Certificate} (faceswap.node.tls.key)");
        var certificate = settings.Key is null
            ? X509CertificateLoader.LoadPkcs12FromFile(settings.Certificate, settings.Password, X509KeyStorageFlags.Exportable)
            : X509Certificate2.CreateFromPemFile(settings.Certificate, settings.Key);
        if (!certificate.HasPrivateKey) throw new ArgumentException($"{settings.Certificate}: the node certificate holds no private key");
        var authority = X509CertificateLoader.LoadCertificateFromFile(settings.Authority);
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false,
            PinnedAuthority(authority));
    }

    /// <summary>Accepts a peer certificate only if it chains to <paramref name="authority"/> itself, within its validity.</summary>
    public static CertificateValidationCallback PinnedAuthority(X509Certificate2 authority) => (certificate, _, peer, _, log) =>
    {
        if (certificate is null)
        {
            log.Warning("remoting TLS: {0} presented no certificate; refused", peer);
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        var built = chain.Build(certificate);
        var root = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        if (built && root is not null && root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)) return true;
        log.Warning("remoting TLS: refused {0}: certificate '{1}' (issuer '{2}') does not chain to the cluster CA '{3}': {4}", peer, certificate.Subject,
            certificate.Issuer, authority.Subject, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("another root")));
        return false;
    };
}
