using System.Security.Cryptography;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary>The consent registry and the audit log as fsc opens them from its settings; revoking deletes the identity's folder.</summary>
public sealed class CliGovernance : IDisposable
{
    private CliGovernance(FscSettings settings, ConsentRegistry consent, AuditLog audit)
    {
        Settings = settings;
        Consent = consent;
        Audit = audit;
    }

    public FscSettings Settings { get; }
    public ConsentRegistry Consent { get; }
    public AuditLog Audit { get; }

    public static CliGovernance Open(FscSettings settings, ILogger logger)
    {
        var consent = new ConsentRegistry(settings.ConsentDatabase, [new IdentityFolderDeleter(settings.IdentityStore)], logger: logger);
        try
        {
            return new CliGovernance(settings, consent, new AuditLog(settings.AuditDatabase, settings.NodeName));
        }
        catch
        {
            consent.Dispose();
            throw;
        }
    }

    /// <summary>A new session id: 48 random bits, the width the watermark carries.</summary>
    public static ulong NewSession() => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & FaceSwap.Vision.Marks.WatermarkPayload.MaxSession;

    public static string SessionName(ulong session) => session.ToString("x12");

    public void Dispose()
    {
        Audit.Dispose();
        Consent.Dispose();
    }
}
