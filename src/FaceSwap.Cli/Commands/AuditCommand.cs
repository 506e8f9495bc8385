using System.CommandLine;
using System.Globalization;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Governance.Audit;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc audit</c>: the durable audit log of sessions, identities and settings, filtered; <c>--verify</c> checks its hash chain.</summary>
public static class AuditCommand
{
    public static Command Create()
    {
        var kind = new Option<string?>("--kind") { Description = $"Only this kind: {string.Join(", ", AuditKinds.Known)}." };
        var session = new Option<string?>("--session") { Description = "Only this session id." };
        var identity = new Option<string?>("--identity") { Description = "Only this identity id." };
        var actor = new Option<string?>("--actor") { Description = "Only events by this operator." };
        var since = new Option<string?>("--since") { Description = "From this time (2026-11-23, 2026-11-23T10:00Z) or this long ago (2h, 7d)." };
        var until = new Option<string?>("--until") { Description = "Before this time." };
        var limit = new Option<int?>("--limit") { Description = "At most this many, the newest." };
        var verify = new Option<bool>("--verify") { Description = "Check the log's hash chain instead of listing: exit 1 at the first broken link." };
        var command = new Command("audit", "List the audit log (sessions, identities, settings, label off, refusals), oldest first, filtered.")
            { kind, session, identity, actor, since, until, limit, verify };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var settings = FscSettings.Load();
            using var log = new AuditLog(settings.AuditDatabase, settings.NodeName);
            if (parse.GetValue(verify))
            {
                var check = log.Verify();
                Console.WriteLine(check.IsIntact
                    ? $"audit log intact: {check.EventsChecked} event(s), hash chain holds"
                    : $"audit log broken at event {check.FirstBrokenSequence}: {check.Problem} ({check.EventsChecked} event(s) before it hold)");
                return check.IsIntact ? 0 : 1;
            }
            if (parse.GetValue(kind) is { } k && !AuditKinds.Known.Contains(k))
                throw new ArgumentException($"--kind '{k}' is not one of {string.Join(", ", AuditKinds.Known)}");
            var now = DateTimeOffset.UtcNow;
            var events = log.Query(new AuditFilter(Time(parse.GetValue(since), now, "--since"), Time(parse.GetValue(until), now, "--until"),
                parse.GetValue(kind), parse.GetValue(session), parse.GetValue(identity), parse.GetValue(actor), parse.GetValue(limit)));
            Console.WriteLine($"{"SEQ",6} {"TIME (UTC)",-20} {"NODE",-10} {"SESSION",-12} {"ACTOR",-10} {"KIND",-19} {"IDENTITY",-14} DETAILS");
            foreach (var e in events)
                Console.WriteLine($"{e.Sequence,6} {e.At,-20:u} {e.Node,-10} {e.Session ?? "-",-12} {e.Actor,-10} {e.Kind,-19} {e.Identity ?? "-",-14} {e.Details}");
            Console.Error.WriteLine($"{events.Count} event(s)");
            return 0;
        }));
        return command;
    }

    /// <summary>A date/time, or a duration back from <paramref name="now"/> (2h, 7d, 30m).</summary>
    private static DateTimeOffset? Time(string? text, DateTimeOffset now, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (CliTime.TryDuration(text, out var span) && span >= TimeSpan.Zero) return now - span;
        if (CliTime.TryDate(text, out var at)) return at;
        throw new ArgumentException($"{option} '{text}' is neither a date/time (2026-11-23, 2026-11-23T10:00Z) nor a duration (2h, 7d, 30m)");
    }
}
