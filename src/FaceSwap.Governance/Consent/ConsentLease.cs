using Microsoft.Extensions.Logging;

namespace FaceSwap.Governance.Consent;

/// <summary>
/// A running job's hold on an identity's consent: <see cref="Token"/> is cancelled once the consent is revoked (by any
/// process sharing the registry), expires, or can no longer be checked. Made by <see cref="ConsentRegistry.Watch"/>;
/// dispose it when the job ends to stop polling.
/// </summary>
public sealed class ConsentLease : IDisposable
{
    // Neither source is disposed: they own no timer or wait handle, and a late Cancel on a disposed one would throw.
    readonly CancellationTokenSource _ended = new();
    readonly CancellationTokenSource _stop = new();
    readonly Func<ConsentException?> _check;
    readonly ILogger _logger;
    volatile ConsentException? _endedBecause;

    internal ConsentLease(string identityId, string scope, Func<ConsentException?> check, TimeSpan pollInterval, TimeProvider time, ILogger logger)
    {
        IdentityId = identityId;
        Scope = scope;
        PollInterval = pollInterval;
        _check = check;
        _logger = logger;
        Polling = Task.Run(() => PollAsync(time));
    }

    public string IdentityId { get; }
    public string Scope { get; }
    public TimeSpan PollInterval { get; }

    /// <summary>Cancelled when the consent ends; pass it to the job.</summary>
    public CancellationToken Token => _ended.Token;

    /// <summary>Why the consent ended; null while it holds.</summary>
    public ConsentException? EndedBecause => _endedBecause;

    /// <summary>The polling loop; completes when the consent ends or the lease is disposed.</summary>
    public Task Polling { get; }

    /// <summary>Stops polling; the token stays as it is.</summary>
    public void Dispose() => _stop.Cancel();

    async Task PollAsync(TimeProvider time)
    {
        using var timer = new PeriodicTimer(PollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                ConsentException? denial;
                try
                {
                    denial = _check();
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    // Fail closed: a job must not go on with a consent nobody can confirm.
                    denial = new ConsentException(IdentityId, Scope, ConsentDenial.Unverifiable,
                        $"Could not check consent for identity '{IdentityId}' ({e.Message}); stopping its use until the registry can be read.", e);
                }
                if (denial is not null)
                {
                    End(denial);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed: the job is over, nothing to cancel.
        }
    }

    void End(ConsentException denial)
    {
        _endedBecause = denial;
        _logger.LogWarning(denial.InnerException, "Consent for identity {IdentityId} ({Scope}) ended: {Reason}; cancelling its use",
            IdentityId, Scope, denial.Message);
        try
        {
            _ended.Cancel();
        }
        catch (AggregateException e)
        {
            // A job's own cancellation callback threw; the token is cancelled regardless, so report and go on.
            _logger.LogError(e, "A cancellation callback for identity {IdentityId} failed", IdentityId);
        }
    }
}
