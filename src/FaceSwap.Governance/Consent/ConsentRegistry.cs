using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Governance.Consent;

/// <summary>
/// The durable record of who consented to their face being a source, for what and until when. Every source identity
/// is checked here before use (<see cref="Require"/>), running jobs hold a <see cref="ConsentLease"/> that ends when
/// the consent does, and revoking deletes the identity's data through the <see cref="IIdentityDataDeleter"/>s given.
/// Several processes may open the same file; each instance holds one connection.
/// </summary>
public sealed class ConsentRegistry : IDisposable
{
    /// <summary>How often a <see cref="ConsentLease"/> looks for a revocation: well inside the one-second promise.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(200);

    readonly Lock _gate = new();
    readonly DbConnection _connection;
    readonly ConsentStore _store;
    readonly IReadOnlyList<IIdentityDataDeleter> _deleters;
    readonly TimeProvider _time;
    readonly ILogger _logger;
    bool _disposed;

    /// <param name="connectionString">A SQLite connection string; see <see cref="OpenFile"/> for a plain file.</param>
    /// <param name="deleters">What deletes an identity's stored data when its consent is revoked.</param>
    public ConsentRegistry(string connectionString, IEnumerable<IIdentityDataDeleter>? deleters = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        _deleters = [.. deleters ?? []];
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        (_connection, var kind) = GovernanceDatabase.Open(connectionString, fullSync: true, secureDelete: true);
        _store = new ConsentStore(_connection, kind);
        try
        {
            _store.EnsureSchema();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating if needed) the registry kept in a SQLite file.</summary>
    public static ConsentRegistry OpenFile(string path, IEnumerable<IIdentityDataDeleter>? deleters = null,
        TimeProvider? time = null, ILogger? logger = null) =>
        new(GovernanceDatabase.SqliteConnectionString(path), deleters, time, logger);

    /// <summary>Records a person's consent and returns it with its identity id.</summary>
    /// <param name="consentBy">Who consents: the face's owner, or their guardian.</param>
    /// <param name="scopes">What for, from <see cref="ConsentScopes"/>.</param>
    /// <param name="recordedBy">The operator taking the consent.</param>
    /// <param name="identityId">Leave null for a new random id; give one only for a synthetic identity such as <see cref="IdentityIds.Average"/>.</param>
    /// <exception cref="ArgumentException">A scope is unknown, a name is empty, the expiry is not in the future, or the id is malformed.</exception>
    /// <exception cref="InvalidOperationException">The given id is registered already, or was revoked (ids are never reused).</exception>
    public ConsentRecord Register(string consentBy, IEnumerable<string> scopes, string recordedBy,
        DateTimeOffset? expiresAt = null, string? note = null, string? identityId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consentBy);
        ArgumentException.ThrowIfNullOrWhiteSpace(recordedBy);
        var scopeSet = ConsentScopes.Parse(scopes);
        if (identityId is not null)
            IdentityIds.Validate(identityId);
        var grantedAt = WholeMilliseconds(_time.GetUtcNow());
        var expires = expiresAt is { } e ? WholeMilliseconds(e.ToUniversalTime()) : (DateTimeOffset?)null;
        if (expires <= grantedAt)
            throw new ArgumentException($"The consent would expire at {expires:O}, which is not after now ({grantedAt:O}).", nameof(expiresAt));

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _store.BeginTransaction();
            var id = identityId ?? IdentityIds.New();
            while (_store.FindConsent(id, transaction) is not null || _store.FindRevocation(id, transaction) is not null)
            {
                if (identityId is not null)
                    throw new InvalidOperationException(_store.FindRevocation(id, transaction) is { } revoked
                        ? $"Identity '{id}' was revoked at {revoked.RevokedAt:O}; revoked ids are never reused, so register under a new id."
                        : $"Identity '{id}' is registered already; revoke it first to record a different consent.");
                id = IdentityIds.New();
            }
            var record = new ConsentRecord(id, consentBy, scopeSet, grantedAt, expires, recordedBy, note);
            _store.InsertConsent(record, transaction);
            transaction.Commit();
            _logger.LogInformation("Registered consent for identity {IdentityId}: scopes {Scopes}, expires {ExpiresAt}, recorded by {RecordedBy}",
                id, string.Join(",", scopeSet), expires?.ToString("O") ?? "never", recordedBy);
            return record;
        }
    }

    /// <summary>The consent on record for an identity (expired ones included); null if it was never registered or was revoked.</summary>
    public ConsentRecord? Get(string identityId)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _store.FindConsent(identityId);
        }
    }

    /// <summary>The tombstone of a revoked identity; null if it is not revoked.</summary>
    public ConsentRevocation? GetRevocation(string identityId)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _store.FindRevocation(identityId);
        }
    }

    /// <summary>Every consent on record that is not revoked, oldest first.</summary>
    public IReadOnlyList<ConsentRecord> List()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _store.ListConsents();
        }
    }

    /// <summary>Every revoked identity's tombstone, oldest first.</summary>
    public IReadOnlyList<ConsentRevocation> ListRevocations()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _store.ListRevocations();
        }
    }

    /// <summary>Returns the consent that covers using the identity in <paramref name="scope"/> at <paramref name="now"/>.</summary>
    /// <exception cref="ConsentException">It is unregistered, revoked, expired or out of scope; the message says which.</exception>
    /// <exception cref="ArgumentException">The scope is not in <see cref="ConsentScopes.Valid"/>.</exception>
    public ConsentRecord Require(string identityId, string scope, DateTimeOffset now)
    {
        ConsentScopes.Validate(scope);
        var (record, denial) = Check(identityId, scope, now);
        return denial is null ? record! : throw denial;
    }

    /// <summary>Revokes an identity's consent: keeps only a tombstone, then deletes the identity's data everywhere.</summary>
    /// <param name="by">The operator revoking it.</param>
    /// <param name="reason">Why; this is kept, so it should not name the person.</param>
    /// <returns>The tombstone; revoking a revoked identity returns the first one and runs the deleters again.</returns>
    /// <exception cref="ConsentException">The identity was never registered.</exception>
    /// <exception cref="AggregateException">The revocation is recorded but a deleter failed; call again to retry the deletion.</exception>
    public ConsentRevocation Revoke(string identityId, string by, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ConsentRevocation revocation;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _store.BeginTransaction();
            if (_store.FindRevocation(identityId, transaction) is { } earlier)
                revocation = earlier;
            else if (_store.FindConsent(identityId, transaction) is null)
                throw new ConsentException(identityId, ConsentScopes.All, ConsentDenial.Unregistered,
                    $"Cannot revoke identity '{identityId}': it has no consent record. Check the id with the registry's list.");
            else
            {
                revocation = new ConsentRevocation(identityId, WholeMilliseconds(_time.GetUtcNow()), by, reason);
                _store.Revoke(revocation, transaction);
            }
            transaction.Commit();
            // The WAL still holds the page with the person's name until it is checkpointed into the zeroed file.
            if (!_store.Checkpoint())
                _logger.LogWarning("Another process is reading the consent registry, so the write-ahead log could not be emptied after revoking "
                                   + "{IdentityId}; the old page with its name stays there until later writes overwrite it", identityId);
        }
        _logger.LogWarning("Revoked consent for identity {IdentityId} at {RevokedAt:O} by {RevokedBy}: {Reason}; deleting its data",
            identityId, revocation.RevokedAt, revocation.RevokedBy, revocation.Reason);
        DeleteIdentityData(identityId);
        return revocation;
    }

    /// <summary>
    /// Requires consent now, then watches it: the lease's token is cancelled within about one poll interval of the
    /// consent being revoked (by any process sharing the database) or expiring. Dispose the lease when the job ends.
    /// </summary>
    /// <exception cref="ConsentException">There is no consent covering the use now.</exception>
    public ConsentLease Watch(string identityId, string scope, TimeSpan? pollInterval = null)
    {
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(pollInterval));
        Require(identityId, scope, _time.GetUtcNow());
        return new ConsentLease(identityId, scope, () => Check(identityId, scope, _time.GetUtcNow()).Denial, interval, _time, _logger);
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

    /// <summary>The consent that covers the use, or why there is none: the one check behind Require and every lease poll.</summary>
    (ConsentRecord? Record, ConsentException? Denial) Check(string identityId, string scope, DateTimeOffset now)
    {
        ConsentRecord? record;
        ConsentRevocation? revocation = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Consent first: a revoke between the two reads then shows up as the tombstone, never as a gap.
            record = _store.FindConsent(identityId);
            if (record is null)
                revocation = _store.FindRevocation(identityId);
        }
        if (revocation is not null)
            return (null, new ConsentException(identityId, scope, ConsentDenial.Revoked,
                $"Identity '{identityId}' was revoked at {revocation.RevokedAt:O} by {revocation.RevokedBy} ({revocation.Reason}); it cannot be used again."));
        if (record is null)
            return (null, new ConsentException(identityId, scope, ConsentDenial.Unregistered,
                $"Identity '{identityId}' has no consent record: register the person's consent before using their face as a source."));
        if (record.IsExpired(now))
            return (null, new ConsentException(identityId, scope, ConsentDenial.Expired,
                $"Consent for identity '{identityId}' expired at {record.ExpiresAt:O}; register a fresh consent to use it again."));
        if (!record.Covers(scope))
            return (null, new ConsentException(identityId, scope, ConsentDenial.OutOfScope,
                $"Consent for identity '{identityId}' covers {string.Join(", ", record.Scopes)}, not '{scope}'; register a consent that includes '{scope}'."));
        return (record, null);
    }

    void DeleteIdentityData(string identityId)
    {
        var failures = new List<Exception>();
        foreach (var deleter in _deleters)
        {
            try
            {
                deleter.DeleteIdentityData(identityId);
            }
            catch (Exception e)
            {
                // Keep going: one store failing must not leave the others' copies of the face behind.
                _logger.LogError(e, "Deleting data of revoked identity {IdentityId} with {Deleter} failed", identityId, deleter.GetType().Name);
                failures.Add(e);
            }
        }
        if (failures.Count > 0)
            throw new AggregateException(
                $"Identity '{identityId}' is revoked, but deleting its data failed in {failures.Count} of {_deleters.Count} stores; revoke it again to retry.",
                failures);
    }

    static DateTimeOffset WholeMilliseconds(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());
}
