using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Consent;

namespace FaceSwap.Governance.Tests;

/// <summary>The consent registry and the audit log on a real PostgreSQL server, chosen by the connection string alone.</summary>
public sealed class ServerDatabaseTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public void A_host_in_the_connection_string_means_postgres_and_a_file_means_sqlite()
    {
        Assert.Equal(DatabaseKind.Postgres, GovernanceDatabase.KindOf(server.ConnectionString));
        Assert.Equal(DatabaseKind.Sqlite, GovernanceDatabase.KindOf("Data Source=/tmp/x.db"));
    }

    [Fact]
    public async Task Consent_is_registered_required_and_revoked_and_a_lease_on_another_connection_ends()
    {
        var database = server.NewDatabase();
        var deleted = new List<string>();
        using var operatorSide = new ConsentRegistry(database, [new RecordingDeleter(deleted)]);
        using var jobSide = new ConsentRegistry(database);
        var record = operatorSide.Register("Jane Doe", [ConsentScopes.File], "op");
        Assert.Equal(record.IdentityId, jobSide.Require(record.IdentityId, ConsentScopes.File, DateTimeOffset.UtcNow).IdentityId);
        Assert.Equal(ConsentDenial.OutOfScope, Assert.Throws<ConsentException>(() => jobSide.Require(record.IdentityId, ConsentScopes.Stream, DateTimeOffset.UtcNow)).Denial);

        using var lease = jobSide.Watch(record.IdentityId, ConsentScopes.File, TimeSpan.FromMilliseconds(50));
        operatorSide.Revoke(record.IdentityId, "op", "withdrawn");
        await Wait.ForCancellation(lease.Token);
        Assert.Equal(ConsentDenial.Revoked, lease.EndedBecause!.Denial);
        Assert.Equal([record.IdentityId], deleted);
        Assert.Null(jobSide.Get(record.IdentityId)); // the record with the name is gone, the tombstone stays
        Assert.Equal("withdrawn", jobSide.GetRevocation(record.IdentityId)!.Reason);
    }

    [Fact]
    public void Audit_appends_from_two_writers_chain_and_the_table_refuses_edits()
    {
        var database = server.NewDatabase();
        using var a = new AuditLog(database, "node-a");
        using var b = new AuditLog(database, "node-b");
        Parallel.For(0, 40, i => (i % 2 == 0 ? a : b).Append("op", AuditKinds.SessionStart, $"event {i}", session: $"s{i % 4}"));
        var all = a.Query();
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), all.Select(e => e.Sequence));
        Assert.True(b.Verify().IsIntact);
        Assert.Equal(10, a.Query(new AuditFilter(Session: "s1")).Count);
        Assert.Equal(3, a.Query(new AuditFilter(Limit: 3)).Count);

        using var connection = new Npgsql.NpgsqlConnection(database);
        connection.Open();
        using var edit = connection.CreateCommand();
        edit.CommandText = "UPDATE audit SET details = 'changed' WHERE seq = 1";
        Assert.Contains("append-only", Assert.ThrowsAny<Npgsql.PostgresException>(() => edit.ExecuteNonQuery()).MessageText);
    }

    private sealed class RecordingDeleter(List<string> deleted) : IIdentityDataDeleter
    {
        public void DeleteIdentityData(string identityId) => deleted.Add(identityId);
    }
}
