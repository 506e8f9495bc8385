using Xunit.Abstractions;
using System.Diagnostics;
using FaceSwap.Governance.Audit;
using Microsoft.Data.Sqlite;

namespace FaceSwap.Governance.Tests;

public sealed class AuditLogTests(ITestOutputHelper output) : IDisposable
{
    readonly TestPaths.TempDir _dir = new();
    string LogPath => Path.Combine(_dir.Path, "audit.db");
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Appended_events_come_back_in_order_with_contiguous_sequences_after_a_reopen()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        using (var log = AuditLog.OpenFile(LogPath, node: "node-a", time: clock))
        {
            var first = log.Append("alice", AuditKinds.SessionStart, "{\"mode\":\"file\"}", session: "s-1");
            clock.Advance(TimeSpan.FromSeconds(5));
            log.Append("alice", AuditKinds.SwapRefused, "no consent", session: "s-1", identity: "id-abcdefghij");
            Assert.Equal(new AuditEvent(1, clock.GetUtcNow().AddSeconds(-5), "node-a", "s-1", "alice", AuditKinds.SessionStart, null, "{\"mode\":\"file\"}"), first);
        }
        using var reopened = AuditLog.OpenFile(LogPath, node: "node-b", time: clock);
        reopened.Append("system", AuditKinds.SessionStop, "done", session: "s-1");

        var events = reopened.Query();
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Sequence));
        Assert.Equal(["node-a", "node-a", "node-b"], events.Select(e => e.Node));
        Assert.Equal(new AuditEvent(2, clock.GetUtcNow(), "node-a", "s-1", "alice", AuditKinds.SwapRefused, "id-abcdefghij", "no consent"), events[1]);
    }

    [Fact]
    public void Query_filters_by_every_field_and_limit_keeps_the_newest()
    {
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new ManualClock(start);
        using var log = AuditLog.OpenFile(LogPath, node: "n", time: clock);
        for (var i = 0; i < 10; i++)
        {
            log.Append(i % 2 == 0 ? "alice" : "bob", i % 3 == 0 ? AuditKinds.SettingsChanged : AuditKinds.LabelOff, $"event {i}",
                session: i < 5 ? "s-early" : "s-late", identity: i % 4 == 0 ? "id-four" : null);
            clock.Advance(TimeSpan.FromMinutes(1));
        }
        long[] Sequences(AuditFilter filter) => [.. log.Query(filter).Select(e => e.Sequence)];

        Assert.Equal([1L, 4, 7, 10], Sequences(new(Kind: AuditKinds.SettingsChanged)));
        Assert.Equal([6L, 7, 8, 9, 10], Sequences(new(Session: "s-late")));
        Assert.Equal([1L, 5, 9], Sequences(new(Identity: "id-four")));
        Assert.Equal([2L, 4, 6, 8, 10], Sequences(new(Actor: "bob")));
        Assert.Equal([3L, 4, 5], Sequences(new(Since: start.AddMinutes(2), Until: start.AddMinutes(5))));
        Assert.Equal([8L, 9, 10], Sequences(new(Limit: 3)));
        Assert.Equal([6L, 8], Sequences(new(Actor: "bob", Session: "s-late", Limit: 2, Until: start.AddMinutes(9))));
        Assert.Empty(Sequences(new(Kind: AuditKinds.IdentityRevoked)));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Query(new(Limit: -1)));
    }

    [Fact]
    public void A_kind_that_is_not_lower_case_with_dashes_is_refused()
    {
        using var log = AuditLog.OpenFile(LogPath);
        var error = Assert.Throws<ArgumentException>(() => log.Append("alice", "Session Start", "x"));
        Assert.Contains(AuditKinds.SessionStart, error.Message);
        log.Append("alice", "model-loaded", "a kind not in the list is fine");
        Assert.Single(log.Query());
    }

    [Fact]
    public void The_log_refuses_updates_and_deletes()
    {
        using (var log = AuditLog.OpenFile(LogPath))
            log.Append("alice", AuditKinds.SessionStart, "x");
        using var raw = OpenRaw();
        Assert.Contains("append-only", Assert.Throws<SqliteException>(() => Execute(raw, "UPDATE audit SET details = 'y'")).Message);
        Assert.Contains("append-only", Assert.Throws<SqliteException>(() => Execute(raw, "DELETE FROM audit")).Message);
    }

    [Fact]
    public void An_intact_log_verifies()
    {
        using var log = AuditLog.OpenFile(LogPath);
        Assert.Equal(new AuditVerification(0, null, null), log.Verify());
        AppendSome(log, 5);
        Assert.Equal(new AuditVerification(5, null, null), log.Verify());
    }

    [Theory]
    [InlineData("UPDATE audit SET details = 'nothing happened' WHERE seq = 3", 3L)]
    [InlineData("UPDATE audit SET at = at + 1 WHERE seq = 3", 3L)]
    [InlineData("UPDATE audit SET identity = NULL WHERE seq = 4", 4L)]
    [InlineData("UPDATE audit SET hash = randomblob(32) WHERE seq = 3", 3L)]
    [InlineData("DELETE FROM audit WHERE seq = 3", 4L)]
    [InlineData("UPDATE audit SET seq = 9 WHERE seq = 5", 6L)]
    public void A_tampered_log_reports_the_first_broken_link(string tamper, long firstBroken)
    {
        using (var log = AuditLog.OpenFile(LogPath))
            AppendSome(log, 6);
        using (var raw = OpenRaw())
        {
            Execute(raw, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");
            Execute(raw, tamper);
        }
        using var reopened = AuditLog.OpenFile(LogPath);
        var verification = reopened.Verify();
        Assert.False(verification.IsIntact);
        Assert.Equal(firstBroken, verification.FirstBrokenSequence);
        output.WriteLine($"{tamper}: {verification.Problem}");
    }

    [Fact]
    public void An_edit_that_recomputes_its_own_hash_breaks_the_next_link()
    {
        using (var log = AuditLog.OpenFile(LogPath))
            AppendSome(log, 4);
        using (var raw = OpenRaw())
        {
            var firstHash = (byte[])Scalar(raw, "SELECT hash FROM audit WHERE seq = 1")!;
            using var reopened = AuditLog.OpenFile(LogPath);
            var edited = reopened.Query()[1] with { Details = "nothing happened" };
            Execute(raw, "DROP TRIGGER audit_no_update");
            using var update = raw.CreateCommand();
            update.CommandText = "UPDATE audit SET details = $details, hash = $hash WHERE seq = 2";
            update.Parameters.AddWithValue("$details", edited.Details);
            update.Parameters.AddWithValue("$hash", AuditLog.Link(firstHash, edited));
            update.ExecuteNonQuery();
        }
        using var verifier = AuditLog.OpenFile(LogPath);
        var verification = verifier.Verify();
        Assert.Equal((2L, (long?)3L), (verification.EventsChecked, verification.FirstBrokenSequence));  // event 2 now links, 3 does not
    }

    [Fact]
    public void Two_writers_on_one_file_interleave_into_one_chain()
    {
        using var first = AuditLog.OpenFile(LogPath, node: "a");
        using var second = AuditLog.OpenFile(LogPath, node: "b");
        Parallel.For(0, 80, i => (i % 2 == 0 ? first : second).Append("writer", AuditKinds.SettingsChanged, $"{i}"));
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), first.Query().Select(e => e.Sequence));
        Assert.True(second.Verify().IsIntact);
    }

    [Fact]
    public async Task The_log_survives_writer_processes_killed_mid_write()
    {
        var writer = Path.Combine(AppContext.BaseDirectory, "FaceSwap.Governance.AuditWriter.dll");
        Assert.True(File.Exists(writer), $"{writer} was not built beside the tests");
        // The host running these tests (dotnet exec testhost.dll) runs the writer too; else the SDK's, else PATH's.
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        output.WriteLine($"writer: {dotnet} {writer}");
        var random = new Random(20260301);
        long before = 0;
        const int Rounds = 5;
        for (var round = 0; round < Rounds; round++)
        {
            // Two writers at once, so kills also land while one waits for the other's lock.
            var processes = Enumerable.Range(0, 2).Select(i => StartWriter(dotnet, writer, LogPath, $"r{round}w{i}")).ToList();
            try
            {
                foreach (var process in processes)
                {
                    var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    Assert.True(line == "appending", $"writer said '{line}' instead of 'appending'");
                }
                await Task.Delay(random.Next(20, 400));
            }
            finally
            {
                foreach (var process in processes)
                {
                    if (!process.HasExited)
                        process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
            Assert.All(processes, process => Assert.NotEqual(0, process.ExitCode));  // killed, not finished

            using var raw = OpenRaw();
            var count = (long)Scalar(raw, "SELECT count(*) FROM audit")!;
            Assert.True(count >= before + 2, $"round {round}: {count} events after {before}; the writers did not append");
            output.WriteLine($"round {round}: {count - before} events appended before the kill");
            before = count;
        }

        using (var raw = OpenRaw())
        {
            Assert.Equal("ok", Scalar(raw, "PRAGMA integrity_check"));
            Assert.Equal(before, (long)Scalar(raw, "SELECT max(seq) FROM audit")!);
        }
        using var log = AuditLog.OpenFile(LogPath);
        Assert.Equal(new AuditVerification(before, null, null), log.Verify());
        var appended = log.Append("test", AuditKinds.SessionStop, "after the kills");
        Assert.Equal(before + 1, appended.Sequence);
        Assert.True(log.Verify().IsIntact);
    }

    static Process StartWriter(string dotnet, string writer, string logPath, string node)
    {
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(writer);
        start.ArgumentList.Add(logPath);
        start.ArgumentList.Add(node);
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {dotnet} {writer}");
    }

    static void AppendSome(AuditLog log, int count)
    {
        for (var i = 1; i <= count; i++)
            log.Append("alice", i % 2 == 0 ? AuditKinds.SettingsChanged : AuditKinds.SessionStart, $"event {i}", session: "s", identity: i % 2 == 0 ? "id-x" : null);
    }

    SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(GovernanceDatabase.SqliteConnectionString(LogPath));
        connection.Open();
        return connection;
    }

    static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
