using System.CommandLine;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Governance.Provenance;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc keys generate</c>: the ECDSA P-256 key pair that signs provenance sidecars, at the configured paths.</summary>
public static class KeysCommand
{
    public static Command Create()
    {
        var keys = new Command("keys", "The provenance signing key.");
        var generate = new Command("generate", "Make the signing key (private, mode 600) and its public half at the paths the config names; an existing key is kept.");
        generate.SetAction(_ => CliErrors.Run(() => Generate(FscSettings.Load())));
        keys.Subcommands.Add(generate);
        return keys;
    }

    internal static int Generate(FscSettings settings)
    {
        var publicKey = settings.TrustedKeys.FirstOrDefault()
            ?? throw new ArgumentException($"{settings.Source}: faceswap.provenance.trusted-keys is empty; name the public key's path there");
        if (File.Exists(settings.SigningKey))
        {
            using var existing = ProvenanceSigner.Load(settings.SigningKey);
            Console.WriteLine($"signing key {settings.SigningKey} exists (key id {existing.KeyId}); kept");
            return 0;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(settings.SigningKey)!);
        Directory.CreateDirectory(Path.GetDirectoryName(publicKey)!);
        var id = ProvenanceKeys.Generate(settings.SigningKey, publicKey);
        Console.WriteLine($"signing key {settings.SigningKey}, public key {publicKey} (pinned by faceswap.provenance.trusted-keys), key id {id}");
        return 0;
    }
}
