namespace FaceSwap.Governance.Audit;

/// <summary>One line of the audit log.</summary>
/// <param name="Sequence">1, 2, 3… with no gaps: the log's order.</param>
/// <param name="Node">The machine or cluster node that wrote it.</param>
/// <param name="Session">The swap session it belongs to, if any.</param>
/// <param name="Actor">Who did it: an operator, a client, or "system".</param>
/// <param name="Kind">What happened, one of <see cref="AuditKinds"/> where one fits.</param>
/// <param name="Identity">The source identity involved, if any (its id, never a name).</param>
/// <param name="Details">The rest, usually a short JSON object or sentence.</param>
public sealed record AuditEvent(long Sequence, DateTimeOffset At, string Node, string? Session, string Actor, string Kind, string? Identity, string Details);

/// <summary>The kinds of audited event.</summary>
public static class AuditKinds
{
    public const string SessionStart = "session-start";
    public const string SessionStop = "session-stop";
    public const string IdentityRegistered = "identity-registered";
    public const string IdentityRevoked = "identity-revoked";
    public const string SettingsChanged = "settings-changed";
    /// <summary>An output was made without its visible label.</summary>
    public const string LabelOff = "label-off";
    /// <summary>A swap was refused, e.g. for want of consent.</summary>
    public const string SwapRefused = "swap-refused";

    public static IReadOnlyList<string> Known { get; } =
        [SessionStart, SessionStop, IdentityRegistered, IdentityRevoked, SettingsChanged, LabelOff, SwapRefused];
}

/// <summary>Which events <see cref="AuditLog.Query"/> returns; every given field must match.</summary>
/// <param name="Since">Events at or after this time.</param>
/// <param name="Until">Events before this time.</param>
/// <param name="Limit">At most this many: the newest that match, still oldest first.</param>
public sealed record AuditFilter(
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    string? Kind = null,
    string? Session = null,
    string? Identity = null,
    string? Actor = null,
    int? Limit = null);

/// <summary>What <see cref="AuditLog.Verify"/> found.</summary>
/// <param name="EventsChecked">Events whose link held, from the first.</param>
/// <param name="FirstBrokenSequence">The first event whose link does not hold; null if the chain is intact.</param>
/// <param name="Problem">What is wrong there; null if the chain is intact.</param>
public sealed record AuditVerification(long EventsChecked, long? FirstBrokenSequence, string? Problem)
{
    public bool IsIntact => FirstBrokenSequence is null;
}
