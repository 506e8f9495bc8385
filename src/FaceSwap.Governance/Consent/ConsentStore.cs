using System.Data.Common;
using static FaceSwap.Governance.GovernanceDatabase;

namespace FaceSwap.Governance.Consent;

/// <summary>
/// Every SQL statement the consent registry runs, in portable SQL with named parameters, so a server database needs
/// a connection and maybe a dialect tweak here, nothing in the registry. Times are Unix milliseconds (UTC).
/// </summary>
internal sealed class ConsentStore(DbConnection connection, DatabaseKind kind)
{
    const string Columns = "identity_id, consent_by, scopes, granted_at, expires_at, recorded_by, note";

    public void EnsureSchema()
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS consent (
                identity_id VARCHAR(64) NOT NULL PRIMARY KEY,
                consent_by  TEXT NOT NULL,
                scopes      TEXT NOT NULL,
                granted_at  BIGINT NOT NULL,
                expires_at  BIGINT,
                recorded_by TEXT NOT NULL,
                note        TEXT
            )
            """, transaction);
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS consent_revocation (
                identity_id VARCHAR(64) NOT NULL PRIMARY KEY,
                revoked_at  BIGINT NOT NULL,
                revoked_by  TEXT NOT NULL,
                reason      TEXT NOT NULL
            )
            """, transaction);
        transaction.Commit();
    }

    public DbTransaction BeginTransaction() => connection.BeginTransaction();

    public ConsentRecord? FindConsent(string identityId, DbTransaction? transaction = null)
    {
        using var command = Command(connection, transaction, $"SELECT {Columns} FROM consent WHERE identity_id = @id", ("@id", identityId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadConsent(reader) : null;
    }

    public ConsentRevocation? FindRevocation(string identityId, DbTransaction? transaction = null)
    {
        using var command = Command(connection, transaction,
            "SELECT identity_id, revoked_at, revoked_by, reason FROM consent_revocation WHERE identity_id = @id", ("@id", identityId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadRevocation(reader) : null;
    }

    public IReadOnlyList<ConsentRecord> ListConsents()
    {
        using var command = Command(connection, null, $"SELECT {Columns} FROM consent ORDER BY granted_at, identity_id");
        using var reader = command.ExecuteReader();
        var records = new List<ConsentRecord>();
        while (reader.Read())
            records.Add(ReadConsent(reader));
        return records;
    }

    public IReadOnlyList<ConsentRevocation> ListRevocations()
    {
        using var command = Command(connection, null,
            "SELECT identity_id, revoked_at, revoked_by, reason FROM consent_revocation ORDER BY revoked_at, identity_id");
        using var reader = command.ExecuteReader();
        var revocations = new List<ConsentRevocation>();
        while (reader.Read())
            revocations.Add(ReadRevocation(reader));
        return revocations;
    }

    public void InsertConsent(ConsentRecord record, DbTransaction transaction)
    {
        using var command = Command(connection, transaction,
            $"INSERT INTO consent ({Columns}) VALUES (@id, @by, @scopes, @granted, @expires, @recorder, @note)",
            ("@id", record.IdentityId), ("@by", record.ConsentBy), ("@scopes", string.Join(' ', record.Scopes.Order(StringComparer.Ordinal))),
            ("@granted", record.GrantedAt.ToUnixTimeMilliseconds()), ("@expires", record.ExpiresAt?.ToUnixTimeMilliseconds()),
            ("@recorder", record.RecordedBy), ("@note", record.Note));
        command.ExecuteNonQuery();
    }

    /// <summary>Writes the tombstone and deletes the consent row with the person's name in one step.</summary>
    public void Revoke(ConsentRevocation revocation, DbTransaction transaction)
    {
        using (var insert = Command(connection, transaction,
                   "INSERT INTO consent_revocation (identity_id, revoked_at, revoked_by, reason) VALUES (@id, @at, @by, @reason)",
                   ("@id", revocation.IdentityId), ("@at", revocation.RevokedAt.ToUnixTimeMilliseconds()),
                   ("@by", revocation.RevokedBy), ("@reason", revocation.Reason)))
            insert.ExecuteNonQuery();
        using var delete = Command(connection, transaction, "DELETE FROM consent WHERE identity_id = @id", ("@id", revocation.IdentityId));
        delete.ExecuteNonQuery();
    }

    /// <summary>
    /// SQLite only: copies the write-ahead log into the database file and empties it, so deleted rows (zeroed in
    /// the file by secure_delete) leave no copy in the log. False if a reader kept it from finishing.
    /// </summary>
    public bool Checkpoint()
    {
        if (kind != DatabaseKind.Sqlite) return true; // a server reclaims deleted rows by its own vacuum

        using var command = Command(connection, null, "PRAGMA wal_checkpoint(TRUNCATE)");
        using var reader = command.ExecuteReader();
        return reader.Read() && reader.GetInt64(0) == 0;
    }

    static ConsentRecord ReadConsent(DbDataReader reader) => new(
        IdentityId: reader.GetString(0),
        ConsentBy: reader.GetString(1),
        Scopes: new SortedSet<string>(reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal),
        GrantedAt: DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        ExpiresAt: reader.IsDBNull(4) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
        RecordedBy: reader.GetString(5),
        Note: reader.IsDBNull(6) ? null : reader.GetString(6));

    static ConsentRevocation ReadRevocation(DbDataReader reader) => new(
        IdentityId: reader.GetString(0),
        RevokedAt: DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        RevokedBy: reader.GetString(2),
        Reason: reader.GetString(3));
}
