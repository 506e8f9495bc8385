using Akka.Actor;
using Akka.Cluster;
using FaceSwap.Contracts;
using FaceSwap.Node.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// Remoting over mutual TLS with the cluster's CA pinned: a node with a certificate from that CA joins (PKCS#12 or
/// PEM, as a Kubernetes Secret holds it); one with a
/// certificate from another CA, or with no TLS at all, cannot, and the cluster goes on without it.
/// </summary>
public sealed class ClusterTlsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    private readonly List<IHost> _hosts = [];

    [Fact]
    public async Task Only_a_node_with_a_certificate_from_the_clusters_CA_joins()
    {
        var ours = Authority("ours");
        var theirs = Authority("theirs");
        var seed = await Start("seed", ours, Issue(ours, "seed"), seedAddress: null);
        var seedAddress = Akka.Cluster.Cluster.Get(seed).SelfAddress.ToString();
        Assert.StartsWith("akka.ssl.tcp://", seedAddress);

        var member = await Start("member", ours, IssuePem(ours, "member"), seedAddress);
        await Until(() => Akka.Cluster.Cluster.Get(seed).State.Members.Count(m => m.Status == MemberStatus.Up) == 2, "the member with our CA's certificate to join");

        // A valid certificate from another CA (its own chain is complete), and a node that speaks plain TCP.
        var stranger = await Start("stranger", theirs, Issue(theirs, "stranger"), seedAddress);
        var plain = await Start("plain", null, null, seedAddress.Replace("akka.ssl.tcp://", "akka.tcp://"));
        await Task.Delay(TimeSpan.FromSeconds(12));
        var members = Akka.Cluster.Cluster.Get(seed).State.Members.Select(m => m.Address.ToString()).ToList();
        output.WriteLine($"members after 12 s: {string.Join(", ", members)}");
        Assert.Equal(2, members.Count);
        Assert.Contains(Akka.Cluster.Cluster.Get(member).SelfAddress.ToString(), members);
        Assert.NotEqual(MemberStatus.Up, Akka.Cluster.Cluster.Get(stranger).SelfMember.Status);
        Assert.NotEqual(MemberStatus.Up, Akka.Cluster.Cluster.Get(plain).SelfMember.Status);
    }

    [Fact]
    public void A_missing_certificate_or_CA_is_a_clear_error_naming_the_file()
    {
        var missing = new TlsSettings(true, Path.Combine(_dir.Path, "none.pfx"), null, null, Path.Combine(_dir.Path, "ca.crt"));
        Assert.Contains("none.pfx", Assert.Throws<FileNotFoundException>(() => ClusterTls.Setup(missing)).Message);
        var noCa = new TlsSettings(true, Issue(Authority("only-cert"), "n"), null, "secret", Path.Combine(_dir.Path, "nowhere.crt"));
        Assert.Contains("nowhere.crt", Assert.Throws<FileNotFoundException>(() => ClusterTls.Setup(noCa)).Message);
    }

    private (string Certificate, string Key) Authority(string name)
    {
        using var authority = ClusterCertificates.CreateAuthority($"{name} CA", TimeSpan.FromDays(1));
        var paths = (Path.Combine(_dir.Path, $"{name}.crt"), Path.Combine(_dir.Path, $"{name}.key"));
        ClusterCertificates.WriteAuthority(authority, paths.Item1, paths.Item2);
        return paths;
    }

    private string Issue((string Certificate, string Key) authority, string node)
    {
        using var ca = ClusterCertificates.LoadAuthority(authority.Certificate, authority.Key);
        using var issued = ClusterCertificates.Issue(ca, node, ["127.0.0.1"], TimeSpan.FromDays(1));
        var file = Path.Combine(_dir.Path, $"{node}.pfx");
        ClusterCertificates.WriteNode(issued, file, "secret");
        return file;
    }

    /// <summary>The certificate and key as PEM files (a kubernetes.io/tls Secret's); returns the certificate's path, the key beside it.</summary>
    private string IssuePem((string Certificate, string Key) authority, string node)
    {
        using var ca = ClusterCertificates.LoadAuthority(authority.Certificate, authority.Key);
        using var issued = ClusterCertificates.Issue(ca, node, ["127.0.0.1"], TimeSpan.FromDays(1));
        var folder = Path.Combine(_dir.Path, node);
        ClusterCertificates.WriteNodePem(issued, Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"));
        return Path.Combine(folder, "tls.crt");
    }

    /// <summary>A seed-role node with TLS from <paramref name="authority"/> and <paramref name="certificate"/> (none: plain TCP).</summary>
    private async Task<ActorSystem> Start(string name, (string Certificate, string Key)? authority, string? certificate, string? seedAddress)
    {
        var loaded = NodeSettings.Load();
        var settings = loaded with
        {
            Roles = [Roles.Seed],
            Port = TestPorts.Free(),
            Seeds = seedAddress is null ? [] : [seedAddress],
            Management = loaded.Management with { Enabled = false },
            Placement = loaded.Placement with { DurableDir = Path.Combine(_dir.Path, $"placement-{name}") },
            Tls = authority is not { } ca ? TlsSettings.Off
                : certificate!.EndsWith(".crt", StringComparison.Ordinal) ? new TlsSettings(true, certificate, Path.ChangeExtension(certificate, ".key"), null, ca.Certificate)
                : new TlsSettings(true, certificate, null, "secret", ca.Certificate),
        };
        var host = NodeHost.Build(settings, worker: null, logLevel: LogLevel.Warning);
        _hosts.Add(host);
        await host.StartAsync();
        return host.Services.GetRequiredService<ActorSystem>();
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 60 s for {what}");
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            try
            {
                host.StopAsync().Wait(TimeSpan.FromSeconds(20));
            }
            catch (AggregateException e)
            {
                output.WriteLine($"stopping a node: {e.GetBaseException().Message}");
            }
            host.Dispose();
        }
        _dir.Dispose();
    }
}
