using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using static FaceSwap.Governance.GovernanceDatabase;

namespace FaceSwap.Governance.Audit;

/// <summary>
/// The append-only record of sessions, identities and settings, kept in SQLite (WAL, synchronous=FULL, one transaction
/// per append, so a kill mid-write loses at most that event and never tears one) or in PostgreSQL. Each event stores the SHA-256 of the
/// previous event's hash and its own content; <see cref="Verify"/> walks that chain to find edits, deletions and gaps.
/// Several processes may append to one file; each instance holds one connection.
/// </summary>
public sealed partial class AuditLog : IDisposable
{
    const string Columns = "seq, at, node, session, actor, kind, identity, details";
    const int HashSize = SHA256.HashSizeInBytes;

    readonly Lock _gate = new();
    readonly DbConnection _connection;
    readonly DatabaseKind _kind;
    readonly TimeProvider _time;
    bool _disposed;

    /// <param name="connectionString">A SQLite connection string (see <see cref="OpenFile"/> for a plain file) or a PostgreSQL one.</param>
    /// <param name="node">The name this process writes as; the machine name if null.</param>
    public AuditLog(string connectionString, string? node = null, TimeProvider? time = null)
    {
        Node = string.IsNullOrWhiteSpace(node) ? Environment.MachineName : node;
        _time = time ?? TimeProvider.System;
        (_connection, _kind) = GovernanceDatabase.Open(connectionString, fullSync: true);
        try
        {
            EnsureSchema();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating if needed) the audit log kept in a SQLite file.</summary>
    public static AuditLog OpenFile(string path, string? node = null, TimeProvider? time = null) =>
        new(SqliteConnectionString(path), node, time);

    public string Node { get; }

    /// <summary>Appends one event, durably, and returns it with its sequence number.</summary>
    /// <param name="actor">Who did it.</param>
    /// <param name="kind">What happened: one of <see cref="AuditKinds"/> where one fits, else a new lower-case-with-dashes name.</param>
    public AuditEvent Append(string actor, string kind, string details, string? session = null, string? identity = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentNullException.ThrowIfNull(details);
        if (kind is null || !KindPattern().IsMatch(kind))
            throw new ArgumentException($"Audit kind '{kind}' is not lower-case-with-dashes; known kinds are {string.Join(", ", AuditKinds.Known)}.", nameof(kind));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // The write lock is held before the head is read, so two processes never link to one event.
            using var transaction = BeginWrite();
            long last = 0;
            var previousHash = new byte[HashSize];
            using (var head = Command(_connection, transaction, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
            using (var reader = head.ExecuteReader())
            {
                if (reader.Read())
                {
                    last = reader.GetInt64(0);
                    previousHash = (byte[])reader.GetValue(1);
                }
            }
            var at = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
            var appended = new AuditEvent(last + 1, at, Node, session, actor, kind, identity, details);
            using (var insert = Command(_connection, transaction,
                       $"INSERT INTO audit ({Columns}, hash) VALUES (@seq, @at, @node, @session, @actor, @kind, @identity, @details, @hash)",
                       ("@seq", appended.Sequence), ("@at", at.ToUnixTimeMilliseconds()), ("@node", Node), ("@session", session),
                       ("@actor", actor), ("@kind", kind), ("@identity", identity), ("@details", details),
                       ("@hash", Link(previousHash, appended))))
                insert.ExecuteNonQuery();
            transaction.Commit();
            return appended;
        }
    }

    /// <summary>The events that match the filter, oldest first.</summary>
    public IReadOnlyList<AuditEvent> Query(AuditFilter? filter = null)
    {
        filter ??= new AuditFilter();
        if (filter.Limit is < 0)
            throw new ArgumentOutOfRangeException(nameof(filter), filter.Limit, "An audit query's limit cannot be negative.");
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        void Match(string condition, string name, object? value)
        {
            if (value is null)
                return;
            where.Add(condition);
            parameters.Add((name, value));
        }
        Match("at >= @since", "@since", filter.Since?.ToUnixTimeMilliseconds());
        Match("at < @until", "@until", filter.Until?.ToUnixTimeMilliseconds());
        Match("kind = @kind", "@kind", filter.Kind);
        Match("session = @session", "@session", filter.Session);
        Match("identity = @identity", "@identity", filter.Identity);
        Match("actor = @actor", "@actor", filter.Actor);
        var sql = $"SELECT {Columns} FROM audit{(where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")}";
        if (filter.Limit is { } limit)
        {
            // The newest that match, turned back to oldest first.
            sql = $"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT @limit) AS newest";
            parameters.Add(("@limit", limit));
        }
        sql += " ORDER BY seq";

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = Command(_connection, null, sql, [.. parameters]);
            using var reader = command.ExecuteReader();
            var events = new List<AuditEvent>();
            while (reader.Read())
                events.Add(ReadEvent(reader));
            return events;
        }
    }

    /// <summary>
    /// Walks the hash chain from the first event and reports the first link that does not hold: an edited or
    /// inserted event, a deleted one (a gap in the sequence), or a hash that is not the chain's. Deleting events at
    /// the end leaves a shorter chain that still verifies; compare the newest sequence with one kept elsewhere for that.
    /// </summary>
    public AuditVerification Verify()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // One deferred (read) transaction: the walk sees one snapshot and does not hold up other processes' appends.
            using var transaction = _kind == DatabaseKind.Sqlite
                ? ((Microsoft.Data.Sqlite.SqliteConnection)_connection).BeginTransaction(deferred: true)
                : _connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
            using var command = Command(_connection, transaction, $"SELECT {Columns}, hash FROM audit ORDER BY seq");
            using var reader = command.ExecuteReader();
            var previousHash = new byte[HashSize];
            long expected = 1;
            while (reader.Read())
            {
                var entry = ReadEvent(reader);
                if (entry.Sequence != expected)
                    return new AuditVerification(expected - 1, entry.Sequence,
                        $"Sequence jumps from {expected - 1} to {entry.Sequence}: {(entry.Sequence > expected ? "events were deleted" : "the sequence is out of order")}.");
                var stored = reader.IsDBNull(8) ? [] : (byte[])reader.GetValue(8);
                if (!CryptographicOperations.FixedTimeEquals(stored, Link(previousHash, entry)))
                    return new AuditVerification(expected - 1, entry.Sequence,
                        $"Event {entry.Sequence}'s hash does not match its content and the previous event's hash: it, or the one before it, was changed.");
                previousHash = stored;
                expected++;
            }
            return new AuditVerification(expected - 1, null, null);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _connection.Dispose();
        }
    }

    DbTransaction BeginWrite()
    {
        if (_kind == DatabaseKind.Sqlite)
            return ((Microsoft.Data.Sqlite.SqliteConnection)_connection).BeginTransaction(deferred: false); // BEGIN IMMEDIATE
        var transaction = _connection.BeginTransaction();
        // Conflicts with itself (so appends queue) but not with readers.
        Execute(_connection, "LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE", transaction);
        return transaction;
    }

    void EnsureSchema()
    {
        using var transaction = _connection.BeginTransaction();
        var postgres = _kind == DatabaseKind.Postgres;
        Execute(_connection, $"""
            CREATE TABLE IF NOT EXISTS audit (
                seq      BIGINT NOT NULL PRIMARY KEY,
                at       BIGINT NOT NULL,
                node     TEXT NOT NULL,
                session  TEXT,
                actor    TEXT NOT NULL,
                kind     TEXT NOT NULL,
                identity TEXT,
                details  TEXT NOT NULL,
                hash     {(postgres ? "BYTEA" : "BLOB")} NOT NULL
            )
            """, transaction);
        Execute(_connection, "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)", transaction);
        Execute(_connection, "CREATE INDEX IF NOT EXISTS audit_kind ON audit (kind)", transaction);
        Execute(_connection, "CREATE INDEX IF NOT EXISTS audit_session ON audit (session)", transaction);
        Execute(_connection, "CREATE INDEX IF NOT EXISTS audit_identity ON audit (identity)", transaction);
        // Stops edits by mistake; a deliberate one drops the triggers first, and the hash chain shows it.
        if (postgres)
        {
            Execute(_connection, "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$", transaction);
            Execute(_connection, "CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()", transaction);
        }
        else
        {
            Execute(_connection, "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END", transaction);
            Execute(_connection, "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END", transaction);
        }
        transaction.Commit();
    }

    static AuditEvent ReadEvent(DbDataReader reader) => new(
        Sequence: reader.GetInt64(0),
        At: DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        Node: reader.GetString(2),
        Session: reader.IsDBNull(3) ? null : reader.GetString(3),
        Actor: reader.GetString(4),
        Kind: reader.GetString(5),
        Identity: reader.IsDBNull(6) ? null : reader.GetString(6),
        Details: reader.GetString(7));

    /// <summary>SHA-256 of the previous hash and the event's fields, each length-prefixed so no two events encode alike.</summary>
    internal static byte[] Link(byte[] previousHash, AuditEvent entry)
    {
        using var content = new MemoryStream();
        content.Write(previousHash);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, entry.Sequence);
        content.Write(number);
        BinaryPrimitives.WriteInt64BigEndian(number, entry.At.ToUnixTimeMilliseconds());
        content.Write(number);
        foreach (var field in (ReadOnlySpan<string?>)[entry.Node, entry.Session, entry.Actor, entry.Kind, entry.Identity, entry.Details])
        {
            // A length of -1 marks null, so null and "" hash differently.
            var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt32BigEndian(number, field is null ? -1 : bytes.Length);
            content.Write(number[..4]);
            content.Write(bytes);
        }
        return SHA256.HashData(content.GetBuffer().AsSpan(0, (int)content.Length));
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex KindPattern();
}
