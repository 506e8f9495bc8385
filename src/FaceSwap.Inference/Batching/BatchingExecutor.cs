using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Inference.Batching;

/// <summary>
/// A dynamic batcher for one model, as Triton's: callers from many streams submit one request each, and one thread
/// runs them as batches of up to <see cref="BatchingOptions.MaxBatch"/>. While the model is free, a batch waits
/// for more requests at most <see cref="BatchingOptions.MaxQueueDelay"/> past its oldest one, and only while a
/// stream seen lately has none queued (a lone stream is never held: nobody could join it); while the model is
/// busy, requests queue and join the next batch. A request whose deadline has passed is dropped (counted), never run.
/// Each caller gets the result at its own index of the batch, so results never cross streams. A blocking caller
/// that finds the model free, nothing queued and no other stream active runs its request itself, as a batch of
/// one: a lone stream pays no hand-off to the batcher's thread and back.
/// </summary>
/// <typeparam name="TRequest">one caller's input, prepared on the caller's thread (a sampled crop, say)</typeparam>
/// <typeparam name="TResult">one caller's output, copied out of the batch's buffers</typeparam>
public sealed class BatchingExecutor<TRequest, TResult> : IDisposable
{
    /// <summary>Runs the model on a batch and returns one result per request, in order.</summary>
    public delegate IReadOnlyList<TResult> BatchRun(IReadOnlyList<TRequest> batch);

    private sealed record Pending(TRequest Request, string Stream, long Submitted, long Deadline)
    {
        public readonly TaskCompletionSource<TResult> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly BatchRun _run;
    private readonly ILogger _logger;
    private readonly long _maxDelay;
    private readonly Queue<Pending> _queue = new();
    private readonly Thread _thread;
    private bool _stopping;
    // The model is running a batch (on the batcher's thread, or a caller's own).
    private bool _busy;
    // Streams that submitted lately, by their last submission: the ones a held batch may still hear from.
    private readonly Dictionary<string, long> _lastSeen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _queuedStreams = new(StringComparer.Ordinal);
    private static readonly long ActiveWindow = Stopwatch.Frequency / 2; // 0.5 s: a stream at 2 fps or more stays active

    // Books, under the queue's lock.
    private long _batches, _requests, _expired, _failed;
    private readonly long[] _sizes;
    private readonly long[] _runTicks;
    private long _maxHeld, _maxWaited, _sumWaited, _late;
    private readonly long _lateAfter;

    public BatchingExecutor(string model, BatchingOptions options, BatchRun run, ILogger logger)
    {
        Model = model;
        Options = options.Validated();
        _run = run;
        _logger = logger;
        _maxDelay = (long)(options.MaxQueueDelay.TotalSeconds * Stopwatch.Frequency);
        // The wait's own granularity is a millisecond: a hold past that is the thread woken late (a loaded machine).
        _lateAfter = _maxDelay + Stopwatch.Frequency / 1000;
        _sizes = new long[options.MaxBatch + 1];
        _runTicks = new long[options.MaxBatch + 1];
        _thread = new Thread(Loop) { IsBackground = true, Name = $"batcher {model}" };
        _thread.Start();
    }

    public string Model { get; }
    public BatchingOptions Options { get; }

    /// <summary>Queues <paramref name="request"/>; the task ends with its result, or with <see cref="BudgetExpiredException"/> when <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp) passed first.</summary>
    public Task<TResult> SubmitAsync(TRequest request, string stream, long deadline)
    {
        lock (_queue)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            return SubmitLocked(new Pending(request, stream, Stopwatch.GetTimestamp(), deadline));
        }
    }

    /// <summary>Under the lock: queues the request and wakes the batcher.</summary>
    private Task<TResult> SubmitLocked(Pending pending)
    {
        _queue.Enqueue(pending);
        _lastSeen[pending.Stream] = pending.Submitted;
        Monitor.PulseAll(_queue);
        return pending.Done.Task;
    }

    /// <summary>
    /// Runs <paramref name="request"/> and blocks until it has: on this thread when the model is free, nothing is
    /// queued and no other stream was active lately (nobody could share its batch), else in the batch it joins.
    /// </summary>
    public TResult Run(TRequest request, string stream, long deadline)
    {
        Task<TResult>? queued = null;
        lock (_queue)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            var now = Stopwatch.GetTimestamp();
            _lastSeen[stream] = now;
            if (_busy || _queue.Count > 0 || AnotherStreamMayJoin(except: stream))
                queued = SubmitLocked(new Pending(request, stream, now, deadline));
            else if (deadline <= now)
            {
                _expired++;
                throw new BudgetExpiredException(Model, stream, Ms(now - deadline));
            }
            else
            {
                _busy = true;
                _batches++;
                _requests++;
                _sizes[1]++;
            }
        }
        // Waited outside the lock: the batcher needs it to run the batch.
        if (queued is not null) return queued.GetAwaiter().GetResult();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var results = _run([request]);
            lock (_queue) _runTicks[1] += Stopwatch.GetTimestamp() - started;
            return results.Count == 1 ? results[0] : throw new InvalidOperationException($"{Model}: the batch of 1 returned {results.Count} results");
        }
        catch (Exception e)
        {
            _logger.LogError(e, "{Model}: a request of stream {Stream}, run on its own thread, failed", Model, stream);
            lock (_queue) _failed++;
            throw;
        }
        finally
        {
            lock (_queue)
            {
                _busy = false;
                Monitor.PulseAll(_queue);
            }
        }
    }

    public BatchingStats Stats()
    {
        lock (_queue)
            return new BatchingStats(Model, _batches, _requests, _expired, _failed, [.. _sizes],
                Ms(_maxHeld), _late, Ms(_maxWaited), _requests == 0 ? 0 : Ms(_sumWaited) / _requests, _queue.Count, [.. _runTicks.Select(Ms)]);
    }

    private void Loop()
    {
        var batch = new List<Pending>(Options.MaxBatch);
        var requests = new List<TRequest>(Options.MaxBatch);
        while (true)
        {
            batch.Clear();
            requests.Clear();
            lock (_queue)
            {
                if (!Collect(batch)) return;
            }
            if (batch.Count == 0) continue;
            foreach (var pending in batch) requests.Add(pending.Request);
            var started = Stopwatch.GetTimestamp();
            try
            {
                var results = _run(requests);
                if (results.Count != batch.Count)
                    throw new InvalidOperationException($"{Model}: the batch of {batch.Count} returned {results.Count} results");
                lock (_queue)
                {
                    _busy = false;
                    _runTicks[batch.Count] += Stopwatch.GetTimestamp() - started;
                }
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "{Model}: a batch of {Count} request(s) from streams {Streams} failed", Model, batch.Count, string.Join(", ", batch.Select(p => p.Stream).Distinct()));
                lock (_queue)
                {
                    _busy = false;
                    _failed += batch.Count;
                }
                foreach (var pending in batch) pending.Done.TrySetException(e);
            }
        }
    }

    /// <summary>Under the lock: waits for requests, holds them for the batch to fill, drops the expired, takes the batch. False when stopping.</summary>
    private bool Collect(List<Pending> batch)
    {
        // A caller running its own request has the model: the queue waits for it.
        while ((_queue.Count == 0 || _busy) && !_stopping) Monitor.Wait(_queue);
        if (_stopping) return false;
        // The model is free from here: requests queued while it ran count their hold from now.
        var free = Stopwatch.GetTimestamp();
        while (_queue.Count < Options.MaxBatch && !_stopping && AnotherStreamMayJoin())
        {
            // Monitor.Wait counts whole milliseconds: the last fraction is not waited (rounded up, the batch would
            // close late; spun, the thread would use up its time slice and be woken later still).
            var wait = (int)((Math.Max(_queue.Peek().Submitted, free) + _maxDelay - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);
            if (wait <= 0) break;
            Monitor.Wait(_queue, wait);
        }
        if (_stopping) return false;
        var now = Stopwatch.GetTimestamp();
        while (_queue.Count > 0 && batch.Count < Options.MaxBatch)
        {
            var pending = _queue.Dequeue();
            if (pending.Deadline <= now)
            {
                _expired++;
                pending.Done.TrySetException(new BudgetExpiredException(Model, pending.Stream, Ms(now - pending.Deadline)));
                continue;
            }
            batch.Add(pending);
            var held = now - Math.Max(pending.Submitted, free);
            _maxHeld = Math.Max(_maxHeld, held);
            if (held > _lateAfter) _late++;
            _maxWaited = Math.Max(_maxWaited, now - pending.Submitted);
            _sumWaited += now - pending.Submitted;
        }
        if (batch.Count == 0) return true;
        _busy = true;
        _batches++;
        _requests += batch.Count;
        _sizes[batch.Count]++;
        return true;
    }

    /// <summary>Under the lock: whether a stream seen lately (other than <paramref name="except"/>) has no request queued, so holding the batch may gain it one.</summary>
    private bool AnotherStreamMayJoin(string? except = null)
    {
        var now = Stopwatch.GetTimestamp();
        _queuedStreams.Clear();
        foreach (var pending in _queue) _queuedStreams.Add(pending.Stream);
        var waitingFor = false;
        foreach (var (stream, seen) in _lastSeen)
        {
            if (now - seen > ActiveWindow) _lastSeen.Remove(stream); // ended or paused: nobody waits for it
            else if (!_queuedStreams.Contains(stream) && stream != except) waitingFor = true;
        }
        return waitingFor;
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Stops the thread after the batch it runs (and waits for a caller running its own); requests still queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_queue)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_queue);
        }
        _thread.Join();
        // A caller may still be running its own request: the model's buffers stay until it is done.
        lock (_queue)
            while (_busy) Monitor.Wait(_queue);
        lock (_queue)
            while (_queue.TryDequeue(out var pending))
                pending.Done.TrySetException(new ObjectDisposedException($"the {Model} batcher", $"the {Model} batcher stopped before the request of stream '{pending.Stream}' ran"));
    }
}
