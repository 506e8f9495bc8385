using System.Diagnostics;
using System.Text;
using FaceSwap.Governance.Consent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FaceSwap.Governance.Tests;

public sealed class ConsentRegistryTests(ITestOutputHelper output) : IDisposable
{
    readonly TestPaths.TempDir _dir = new();
    string DatabasePath => Path.Combine(_dir.Path, "consent.db");
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Register_gives_a_short_random_url_safe_id_and_keeps_the_record()
    {
        var expires = DateTimeOffset.UtcNow.AddDays(30);
        ConsentRecord registered;
        using (var registry = ConsentRegistry.OpenFile(DatabasePath))
            registered = registry.Register("Ada Example", [ConsentScopes.File, ConsentScopes.Eval], "operator-1", expires, "signed form #12");

        Assert.Matches("^id-[a-z2-7]{10}$", registered.IdentityId);
        using var reopened = ConsentRegistry.OpenFile(DatabasePath);
        var stored = reopened.Get(registered.IdentityId);
        Assert.NotNull(stored);
        Assert.Equal(("Ada Example", "operator-1", "signed form #12"), (stored.ConsentBy, stored.RecordedBy, stored.Note));
        Assert.True(stored.Scopes.SetEquals([ConsentScopes.File, ConsentScopes.Eval]));
        Assert.Equal(registered.GrantedAt, stored.GrantedAt);
        Assert.Equal(expires.ToUnixTimeMilliseconds(), stored.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal([registered.IdentityId], reopened.List().Select(record => record.IdentityId));
    }

    [Fact]
    public void Ids_differ_between_registrations()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var ids = Enumerable.Range(0, 20).Select(_ => registry.Register("Person", [ConsentScopes.All], "op").IdentityId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void A_caller_given_id_is_used_once()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var average = registry.Register("nobody: synthetic average of the sample photos", [ConsentScopes.All], "demo", identityId: IdentityIds.Average);
        Assert.Equal(IdentityIds.Average, average.IdentityId);
        Assert.Throws<InvalidOperationException>(() => registry.Register("again", [ConsentScopes.All], "demo", identityId: IdentityIds.Average));

        registry.Revoke(IdentityIds.Average, "demo", "rebuilt");
        var reuse = Assert.Throws<InvalidOperationException>(() => registry.Register("again", [ConsentScopes.All], "demo", identityId: IdentityIds.Average));
        Assert.Contains("never reused", reuse.Message);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("Has Space")]
    [InlineData("")]
    [InlineData("UPPER")]
    public void A_malformed_caller_given_id_is_refused(string id)
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        Assert.Throws<ArgumentException>(() => registry.Register("Person", [ConsentScopes.File], "op", identityId: id));
    }

    [Fact]
    public void An_unknown_scope_is_refused_with_the_valid_ones_listed()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var error = Assert.Throws<ArgumentException>(() => registry.Register("Person", [ConsentScopes.File, "video"], "op"));
        Assert.Contains("'video'", error.Message);
        foreach (var scope in ConsentScopes.Valid)
            Assert.Contains(scope, error.Message);
        Assert.Throws<ArgumentException>(() => registry.Register("Person", [], "op"));
        Assert.Empty(registry.List());
    }

    [Fact]
    public void An_expiry_in_the_past_is_refused()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        Assert.Throws<ArgumentException>(() => registry.Register("Person", [ConsentScopes.File], "op", DateTimeOffset.UtcNow.AddMinutes(-1)));
    }

    [Fact]
    public void Require_returns_the_consent_that_covers_the_use()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var now = DateTimeOffset.UtcNow;
        var files = registry.Register("Person", [ConsentScopes.File], "op");
        var everything = registry.Register("Person", [ConsentScopes.All], "op");
        Assert.Equal(files.IdentityId, registry.Require(files.IdentityId, ConsentScopes.File, now).IdentityId);
        Assert.Equal(everything.IdentityId, registry.Require(everything.IdentityId, ConsentScopes.Stream, now).IdentityId);
        Assert.Equal(everything.IdentityId, registry.Require(everything.IdentityId, ConsentScopes.Eval, now).IdentityId);
    }

    [Fact]
    public void Require_says_when_an_identity_is_unregistered()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var error = Assert.Throws<ConsentException>(() => registry.Require("id-nosuchone1", ConsentScopes.File, DateTimeOffset.UtcNow));
        Assert.Equal(ConsentDenial.Unregistered, error.Denial);
        Assert.Equal("id-nosuchone1", error.IdentityId);
        Assert.Contains("no consent record", error.Message);
    }

    [Fact]
    public void Require_says_which_scopes_the_consent_has_when_out_of_scope()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var record = registry.Register("Person", [ConsentScopes.File, ConsentScopes.Eval], "op");
        var error = Assert.Throws<ConsentException>(() => registry.Require(record.IdentityId, ConsentScopes.Stream, DateTimeOffset.UtcNow));
        Assert.Equal(ConsentDenial.OutOfScope, error.Denial);
        Assert.Contains("eval, file", error.Message);
        Assert.Contains("'stream'", error.Message);
        Assert.Throws<ArgumentException>(() => registry.Require(record.IdentityId, "video", DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Require_says_when_the_consent_expired()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        var record = registry.Register("Person", [ConsentScopes.File], "op", expires);
        registry.Require(record.IdentityId, ConsentScopes.File, expires.AddSeconds(-1));
        var error = Assert.Throws<ConsentException>(() => registry.Require(record.IdentityId, ConsentScopes.File, expires.AddSeconds(1)));
        Assert.Equal(ConsentDenial.Expired, error.Denial);
        Assert.Contains(record.ExpiresAt!.Value.ToString("O"), error.Message);
    }

    [Fact]
    public void Require_says_when_and_by_whom_an_identity_was_revoked()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var record = registry.Register("Person", [ConsentScopes.All], "op");
        var revocation = registry.Revoke(record.IdentityId, "dpo-officer", "withdrawn by email");
        var error = Assert.Throws<ConsentException>(() => registry.Require(record.IdentityId, ConsentScopes.File, DateTimeOffset.UtcNow));
        Assert.Equal(ConsentDenial.Revoked, error.Denial);
        Assert.Contains("dpo-officer", error.Message);
        Assert.Contains("withdrawn by email", error.Message);
        Assert.Contains(revocation.RevokedAt.ToString("O"), error.Message);
    }

    [Fact]
    public void Revoke_keeps_a_tombstone_without_the_persons_name_anywhere_in_the_files()
    {
        const string name = "Quintavalle Zebedee-Marchetti";
        const string note = "passport 77X-QZ-0042";
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        using var otherProcess = ConsentRegistry.OpenFile(DatabasePath);  // keeps the WAL from being removed on close
        var id = registry.Register(name, [ConsentScopes.File], "op", note: note).IdentityId;
        registry.Register("Someone Else", [ConsentScopes.File], "op");
        var revocation = registry.Revoke(id, "op-2", "withdrawn");

        Assert.Null(otherProcess.Get(id));
        Assert.Equal(new ConsentRevocation(id, revocation.RevokedAt, "op-2", "withdrawn"), otherProcess.GetRevocation(id));
        Assert.Equal([revocation], otherProcess.ListRevocations());
        Assert.Equal(["Someone Else"], otherProcess.List().Select(record => record.ConsentBy));
        // secure_delete zeroes the row in the file, and the checkpoint empties the write-ahead log of older copies.
        var files = Directory.GetFiles(_dir.Path, "consent.db*").ToDictionary(file => Path.GetFileName(file), File.ReadAllBytes);
        Assert.Contains("consent.db-wal", files.Keys);
        foreach (var (file, bytes) in files)
        {
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) < 0, $"{file} still holds the name");
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(note)) < 0, $"{file} still holds the note");
        }
        Assert.True(files.Values.Any(bytes => bytes.AsSpan().IndexOf("Someone Else"u8) >= 0), "the check above would not see a name that is there");
    }

    [Fact]
    public void Revoke_deletes_the_identitys_stored_data_and_only_its()
    {
        var faces = new IdentityFolderDeleter(Path.Combine(_dir.Path, "faces"));
        var calls = new List<string>();
        using var registry = ConsentRegistry.OpenFile(DatabasePath, [faces, new CallbackDeleter(calls.Add)]);
        var revoked = registry.Register("Person A", [ConsentScopes.File], "op").IdentityId;
        var kept = registry.Register("Person B", [ConsentScopes.File], "op").IdentityId;
        foreach (var id in (string[])[revoked, kept])
        {
            Directory.CreateDirectory(faces.FolderOf(id));
            File.WriteAllBytes(Path.Combine(faces.FolderOf(id), "face.png"), [1, 2, 3]);
            File.WriteAllBytes(Path.Combine(faces.FolderOf(id), "embedding.bin"), [4, 5, 6]);
        }

        registry.Revoke(revoked, "op", "withdrawn");

        Assert.False(Directory.Exists(faces.FolderOf(revoked)));
        Assert.True(File.Exists(Path.Combine(faces.FolderOf(kept), "face.png")));
        Assert.Equal([revoked], calls);
    }

    [Fact]
    public void A_failed_deletion_is_reported_the_revocation_stands_and_revoking_again_retries()
    {
        var calls = new List<string>();
        var failing = new FlakyDeleter();
        using var registry = ConsentRegistry.OpenFile(DatabasePath, [failing, new CallbackDeleter(calls.Add)]);
        var id = registry.Register("Person", [ConsentScopes.File], "op").IdentityId;

        var error = Assert.Throws<AggregateException>(() => registry.Revoke(id, "op", "withdrawn"));
        Assert.Contains("revoke it again", error.Message);
        Assert.IsType<IOException>(Assert.Single(error.InnerExceptions));
        Assert.Equal([id], calls);  // the other store was still cleared
        var first = registry.GetRevocation(id);
        Assert.NotNull(first);
        Assert.Throws<ConsentException>(() => registry.Require(id, ConsentScopes.File, DateTimeOffset.UtcNow));

        failing.Fail = false;
        Assert.Equal(first, registry.Revoke(id, "op-later", "retry"));
        Assert.Equal([id], failing.Deleted);
        Assert.Equal([id, id], calls);
    }

    [Fact]
    public void Revoking_an_unknown_identity_is_an_error()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        Assert.Equal(ConsentDenial.Unregistered, Assert.Throws<ConsentException>(() => registry.Revoke("id-unknown0000", "op", "why")).Denial);
    }

    [Fact]
    public void Two_registries_on_one_file_register_concurrently_without_losing_any()
    {
        using var first = ConsentRegistry.OpenFile(DatabasePath);
        using var second = ConsentRegistry.OpenFile(DatabasePath);
        Parallel.For(0, 60, i => (i % 2 == 0 ? first : second).Register($"Person {i}", [ConsentScopes.File], "op"));
        Assert.Equal(60, first.List().Count);
        Assert.Equal(60, second.List().Count);
    }

    [Fact]
    public void Watch_refuses_an_identity_without_consent_up_front()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var record = registry.Register("Person", [ConsentScopes.File], "op");
        Assert.Equal(ConsentDenial.OutOfScope, Assert.Throws<ConsentException>(() => registry.Watch(record.IdentityId, ConsentScopes.Stream)).Denial);
        Assert.Equal(ConsentDenial.Unregistered, Assert.Throws<ConsentException>(() => registry.Watch("id-unknown0000", ConsentScopes.Stream)).Denial);
    }

    [Fact]
    public async Task A_revoke_through_another_registry_on_the_file_cancels_the_lease_and_logs_why()
    {
        var logger = new RecordingLogger();
        using var job = ConsentRegistry.OpenFile(DatabasePath, logger: logger);
        using var operatorSide = ConsentRegistry.OpenFile(DatabasePath);
        var id = operatorSide.Register("Person", [ConsentScopes.Stream], "op").IdentityId;
        var other = operatorSide.Register("Person 2", [ConsentScopes.Stream], "op").IdentityId;

        using var lease = job.Watch(id, ConsentScopes.Stream);
        using var otherLease = job.Watch(other, ConsentScopes.Stream);
        Assert.False(lease.Token.IsCancellationRequested);
        operatorSide.Revoke(id, "dpo", "withdrawn at the desk");
        await Wait.ForCancellation(lease.Token);

        Assert.Equal(ConsentDenial.Revoked, lease.EndedBecause!.Denial);
        Assert.Contains("dpo", lease.EndedBecause.Message);
        Assert.Contains(logger.Entries, entry => entry.Level == LogLevel.Warning && entry.Message.Contains(id) && entry.Message.Contains("withdrawn at the desk"));
        await lease.Polling.WaitAsync(TimeSpan.FromSeconds(30));  // it stops polling once ended
        Assert.False(otherLease.Token.IsCancellationRequested);
        Assert.Null(otherLease.EndedBecause);
    }

    [Fact]
    public async Task Revocations_reach_leases_on_another_connection_and_the_latency_is_reported()
    {
        using var job = ConsentRegistry.OpenFile(DatabasePath);
        using var operatorSide = ConsentRegistry.OpenFile(DatabasePath);
        var latencies = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            var id = operatorSide.Register($"Person {i}", [ConsentScopes.Stream], "op").IdentityId;
            using var lease = job.Watch(id, ConsentScopes.Stream);
            await Task.Delay(37 * i);  // land the revoke at different points of the poll cycle
            long cancelledAt = 0;
            using var onCancel = lease.Token.Register(() => cancelledAt = Stopwatch.GetTimestamp());
            var revokedAt = Stopwatch.GetTimestamp();
            operatorSide.Revoke(id, "op", "measuring");
            await Wait.ForCancellation(lease.Token);
            Assert.Equal(ConsentDenial.Revoked, lease.EndedBecause!.Denial);
            latencies.Add(Stopwatch.GetElapsedTime(revokedAt, Volatile.Read(ref cancelledAt)));
        }
        latencies.Sort();
        output.WriteLine($"revoke-to-cancel over {latencies.Count} revocations, poll every {ConsentRegistry.DefaultPollInterval.TotalMilliseconds} ms: " +
                         $"min {latencies[0].TotalMilliseconds:F0} ms, median {latencies[latencies.Count / 2].TotalMilliseconds:F0} ms, max {latencies[^1].TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task An_expiry_cancels_the_lease()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        using var registry = ConsentRegistry.OpenFile(DatabasePath, time: clock);
        var record = registry.Register("Person", [ConsentScopes.File], "op", clock.GetUtcNow().AddHours(1));
        using var lease = registry.Watch(record.IdentityId, ConsentScopes.File);

        clock.Advance(TimeSpan.FromHours(2));
        await Wait.ForCancellation(lease.Token);
        Assert.Equal(ConsentDenial.Expired, lease.EndedBecause!.Denial);
    }

    [Fact]
    public async Task A_lease_that_cannot_read_the_registry_fails_closed()
    {
        var registry = ConsentRegistry.OpenFile(DatabasePath);
        var id = registry.Register("Person", [ConsentScopes.File], "op").IdentityId;
        using var lease = registry.Watch(id, ConsentScopes.File);
        registry.Dispose();
        await Wait.ForCancellation(lease.Token);
        Assert.Equal(ConsentDenial.Unverifiable, lease.EndedBecause!.Denial);
        Assert.IsType<ObjectDisposedException>(lease.EndedBecause.InnerException);
    }

    [Fact]
    public async Task Disposing_a_lease_stops_its_polling_and_leaves_the_token_alone()
    {
        using var registry = ConsentRegistry.OpenFile(DatabasePath);
        var id = registry.Register("Person", [ConsentScopes.File], "op").IdentityId;
        var lease = registry.Watch(id, ConsentScopes.File);
        lease.Dispose();
        await lease.Polling.WaitAsync(TimeSpan.FromSeconds(30));
        registry.Revoke(id, "op", "after the job");
        Assert.False(lease.Token.IsCancellationRequested);
        Assert.Null(lease.EndedBecause);
    }

    sealed class CallbackDeleter(Action<string> onDelete) : IIdentityDataDeleter
    {
        public void DeleteIdentityData(string identityId) => onDelete(identityId);
    }

    sealed class FlakyDeleter : IIdentityDataDeleter
    {
        public bool Fail { get; set; } = true;
        public List<string> Deleted { get; } = [];
        public void DeleteIdentityData(string identityId)
        {
            if (Fail)
                throw new IOException("the face store is offline");
            Deleted.Add(identityId);
        }
    }
}
