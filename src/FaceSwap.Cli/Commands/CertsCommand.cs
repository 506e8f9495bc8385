using System.CommandLine;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Node.Security;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc certs ca</c> and <c>fsc certs node NAME</c>: the cluster's own CA and the node certificates remoting's
/// mutual TLS needs (faceswap.node.tls). The CA's key stays with the operator; nodes get the CA certificate (to pin)
/// and their own PKCS#12.
/// </summary>
public static class CertsCommand
{
    public static Command Create()
    {
        var folder = new Option<string>("--dir") { Description = "Where the CA lives (ca.crt, ca.key).", DefaultValueFactory = _ => FscSettings.Absolute(".cache/tls") };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 365 };
        var name = new Option<string>("--name") { Description = "The CA's common name.", DefaultValueFactory = _ => "FaceSwapCluster CA" };
        var force = new Option<bool>("--force") { Description = "Replace an existing CA (every node certificate must then be issued again)." };
        var ca = new Command("ca", "Make the cluster's CA: ca.crt (every node pins it) and ca.key (owner-only; it issues node certificates).") { folder, days, name, force };
        ca.SetAction(parse => CliErrors.Run(() => Authority(parse.GetValue(folder)!, parse.GetValue(name)!, parse.GetValue(days), parse.GetValue(force))));

        var node = new Argument<string>("name") { Description = "The node's name (its certificate's subject and a DNS name)." };
        var dns = new Option<string[]>("--dns") { Description = "More DNS names or IP addresses the node is reached by.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output", "-o") { Description = "The PKCS#12 file (default: DIR/NAME.pfx); with --pem, the folder for tls.crt and tls.key." };
        var pem = new Option<bool>("--pem") { Description = "Write PEM files tls.crt and tls.key (a kubernetes.io/tls Secret's) instead of PKCS#12." };
        var password = new Option<string?>("--password") { Description = "Protect the PKCS#12 file with a password (faceswap.node.tls.password)." };
        var nodeFolder = new Option<string>("--dir") { Description = "Where the CA lives.", DefaultValueFactory = _ => FscSettings.Absolute(".cache/tls") };
        var nodeDays = new Option<int>("--days") { Description = "Validity in days (at most the CA's).", DefaultValueFactory = _ => 90 };
        var issue = new Command("node", "Issue a node certificate signed by the cluster's CA, for both ends of remoting's mutual TLS.") { node, dns, output, pem, password, nodeFolder, nodeDays };
        issue.SetAction(parse => CliErrors.Run(() => Node(parse.GetValue(nodeFolder)!, parse.GetValue(node)!, parse.GetValue(dns) ?? [], parse.GetValue(output),
            parse.GetValue(pem), parse.GetValue(password), parse.GetValue(nodeDays))));
        return new Command("certs", "Certificates for remoting's mutual TLS: the cluster's CA and node certificates.") { ca, issue };
    }

    private static int Authority(string folder, string name, int days, bool force)
    {
        if (days < 1) throw new ArgumentException($"--days {days} must be at least 1");
        var (certificate, key) = (Path.Combine(folder, "ca.crt"), Path.Combine(folder, "ca.key"));
        if (File.Exists(key) && !force)
            throw new ArgumentException($"{key} exists: the cluster already has a CA (--force replaces it, and every node certificate must then be issued again)");
        using var authority = ClusterCertificates.CreateAuthority(name, TimeSpan.FromDays(days));
        ClusterCertificates.WriteAuthority(authority, certificate, key);
        Console.WriteLine($"CA '{name}' until {authority.NotAfter:yyyy-MM-dd}: {certificate} (pin it: faceswap.node.tls.ca), {key} (owner-only; keep it off the nodes)");
        return 0;
    }

    private static int Node(string folder, string name, string[] dns, string? output, bool pem, string? password, int days)
    {
        if (days < 1) throw new ArgumentException($"--days {days} must be at least 1");
        var (certificate, key) = (Path.Combine(folder, "ca.crt"), Path.Combine(folder, "ca.key"));
        if (!File.Exists(certificate) || !File.Exists(key))
            throw new FileNotFoundException($"{folder}: no CA (ca.crt and ca.key); make one with 'fsc certs ca'");
        using var authority = ClusterCertificates.LoadAuthority(certificate, key);
        using var issued = ClusterCertificates.Issue(authority, name, dns, TimeSpan.FromDays(days));
        string file;
        if (pem)
        {
            if (password is not null) throw new ArgumentException("--password protects a PKCS#12 file; a PEM key is protected by its file's mode (and the Secret)");
            var target = output ?? folder;
            file = $"{Path.Combine(target, "tls.crt")} and {Path.Combine(target, "tls.key")}";
            ClusterCertificates.WriteNodePem(issued, Path.Combine(target, "tls.crt"), Path.Combine(target, "tls.key"));
        }
        else
        {
            file = output ?? Path.Combine(folder, $"{name}.pfx");
            ClusterCertificates.WriteNode(issued, file, password);
        }
        Console.WriteLine($"node certificate '{name}' ({string.Join(", ", dns.Prepend(name).Distinct())}) until {issued.NotAfter:yyyy-MM-dd}, signed by '{authority.Subject}': {file} (faceswap.node.tls.certificate)");
        return 0;
    }
}
