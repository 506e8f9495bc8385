using System.Collections.Concurrent;
using System.Diagnostics;
using FaceSwap.Inference.Batching;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Inference.Tests;

/// <summary>The dynamic batcher's contract, on a model stand-in that records what reached it and can be held busy.</summary>
public sealed class BatchingExecutorTests
{
    /// <summary>Squares its inputs; records every batch; while <see cref="Busy"/> is reset, a run waits (the model is busy).</summary>
    private sealed class Model
    {
        public readonly ConcurrentQueue<int[]> Batches = new();
        public readonly ConcurrentQueue<int> Threads = new();
        public readonly ManualResetEventSlim Busy = new(true);
        public readonly ManualResetEventSlim Running = new(false);
        public Exception? Throw;

        public IReadOnlyList<long> Run(IReadOnlyList<int> batch)
        {
            Batches.Enqueue([.. batch]);
            Threads.Enqueue(Environment.CurrentManagedThreadId);
            Running.Set();
            Busy.Wait(TimeSpan.FromSeconds(30));
            if (Throw is { } e) throw e;
            return [.. batch.Select(x => (long)x * x)];
        }
    }

    private static long In(TimeSpan t) => Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * Stopwatch.Frequency);
    private static readonly long Never = long.MaxValue;

    [Fact]
    public async Task Requests_queued_while_the_model_is_busy_run_together_as_one_batch_and_each_caller_gets_its_own_result()
    {
        var model = new Model();
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        model.Busy.Reset();
        var first = batcher.SubmitAsync(1, "s0", Never);
        Assert.True(model.Running.Wait(TimeSpan.FromSeconds(10)), "the first request never reached the model");
        var queued = Enumerable.Range(2, 5).Select(i => batcher.SubmitAsync(i, $"s{i}", Never)).ToList();
        model.Busy.Set();

        Assert.Equal(1, await first);
        var results = await Task.WhenAll(queued);
        Assert.Equal(new long[] { 4, 9, 16, 25, 36 }, results);
        Assert.Equal([[1], [2, 3, 4, 5, 6]], model.Batches.ToArray());
        var stats = batcher.Stats();
        Assert.Equal(2, stats.Batches);
        Assert.Equal(6, stats.Requests);
        Assert.Equal(3.0, stats.MeanBatch);
        Assert.Equal(1, stats.BatchSizes[1]);
        Assert.Equal(1, stats.BatchSizes[5]);
    }

    [Fact]
    public async Task Each_batch_size_keeps_the_time_its_runs_took()
    {
        // A stand-in whose batch of n takes 20 + 10 n ms: what a fitted cost model is checked against.
        IReadOnlyList<long> Timed(IReadOnlyList<int> batch)
        {
            Thread.Sleep(20 + 10 * batch.Count);
            return [.. batch.Select(x => (long)x)];
        }
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, Timed, NullLogger.Instance);
        await batcher.SubmitAsync(0, "s0", Never);
        var first = batcher.SubmitAsync(1, "s1", Never);
        await Task.Delay(5);
        await Task.WhenAll([first, .. Enumerable.Range(2, 4).Select(i => batcher.SubmitAsync(i, $"s{i}", Never))]);

        var stats = batcher.Stats();
        Assert.Equal(2, stats.BatchSizes[1]);
        Assert.Equal(1, stats.BatchSizes[4]);
        Assert.InRange(stats.MeanRunMs(1), 29, 200);
        Assert.InRange(stats.MeanRunMs(4), 59, 300);
        Assert.True(stats.MeanRunMs(4) > stats.MeanRunMs(1), $"a batch of 4 took {stats.MeanRunMs(4):F1} ms, one of 1 {stats.MeanRunMs(1):F1} ms");
        Assert.True(double.IsNaN(stats.MeanRunMs(2)), "no batch of 2 ran");
    }

    [Fact]
    public async Task A_batch_never_exceeds_max_batch_and_the_rest_join_the_next()
    {
        var model = new Model();
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 3, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        model.Busy.Reset();
        var first = batcher.SubmitAsync(0, "s", Never);
        model.Running.Wait(TimeSpan.FromSeconds(10));
        var rest = Enumerable.Range(1, 7).Select(i => batcher.SubmitAsync(i, "s", Never)).ToList();
        model.Busy.Set();
        await first;
        await Task.WhenAll(rest);
        Assert.Equal([[0], [1, 2, 3], [4, 5, 6], [7]], model.Batches.ToArray());
    }

    [Fact]
    public async Task Requests_whose_deadline_passed_in_the_queue_never_reach_the_model_and_are_counted()
    {
        var model = new Model();
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        model.Busy.Reset();
        var first = batcher.SubmitAsync(1, "s0", Never);
        model.Running.Wait(TimeSpan.FromSeconds(10));
        // While the model is busy: two requests whose frames' budgets run out in 50 ms, one with time to spare.
        var expiring = new[] { batcher.SubmitAsync(2, "late-a", In(TimeSpan.FromMilliseconds(50))), batcher.SubmitAsync(3, "late-b", In(TimeSpan.FromMilliseconds(50))) };
        var fresh = batcher.SubmitAsync(4, "fresh", In(TimeSpan.FromMinutes(1)));
        await Task.Delay(200);
        model.Busy.Set();

        await first;
        Assert.Equal(16, await fresh);
        foreach (var late in expiring)
        {
            var e = await Assert.ThrowsAsync<BudgetExpiredException>(() => late);
            Assert.StartsWith("late-", e.Stream);
            Assert.Contains("dropped", e.Message);
        }
        Assert.Equal([[1], [4]], model.Batches.ToArray());
        var stats = batcher.Stats();
        Assert.Equal(2, stats.Expired);
        Assert.Equal(2, stats.Requests);
    }

    [Fact]
    public async Task A_request_is_held_for_another_active_stream_at_most_the_max_queue_delay()
    {
        var model = new Model();
        var delay = TimeSpan.FromMilliseconds(400); // under the half second a stream stays active
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 4, MaxQueueDelay = delay }, model.Run, NullLogger.Instance);
        // a alone: nobody to wait for, it runs at once.
        Assert.Equal(1, await batcher.SubmitAsync(1, "a", Never));

        // a was seen lately and has nothing queued: b's request waits for it, but no longer than the delay.
        var held = Stopwatch.StartNew();
        Assert.Equal(4, await batcher.SubmitAsync(2, "b", Never));
        Assert.True(held.Elapsed >= delay * 0.9, $"b's request ran after {held.Elapsed.TotalMilliseconds:F0} ms, before the {delay.TotalMilliseconds} ms delay");
        // The upper margin is the batcher's thread woken late on a machine running other suites.
        Assert.InRange(batcher.Stats().MaxHeldMs, delay.TotalMilliseconds * 0.9, delay.TotalMilliseconds + 250);

        // When b's next request comes within the delay, a's waiting one and it run at once as one batch.
        Assert.Equal(25, await batcher.SubmitAsync(5, "b", Never)); // b seen just now (a's age no longer matters)
        var together = Stopwatch.StartNew();
        var first = batcher.SubmitAsync(3, "a", Never);
        await Task.Delay(50);
        var second = batcher.SubmitAsync(4, "b", Never);
        Assert.Equal(new long[] { 9, 16 }, await Task.WhenAll(first, second));
        Assert.True(together.Elapsed < delay, $"the batch waited {together.Elapsed.TotalMilliseconds:F0} ms although every active stream had a request in it; batches {string.Join(" ", model.Batches.Select(b => $"[{string.Join(",", b)}]"))}");
        Assert.Equal([[1], [2], [5], [3, 4]], model.Batches.ToArray());
    }

    [Fact]
    public async Task A_lone_stream_and_a_full_batch_are_never_held()
    {
        var model = new Model();
        var delay = TimeSpan.FromSeconds(1);
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 4, MaxQueueDelay = delay }, model.Run, NullLogger.Instance);
        var clock = Stopwatch.StartNew();
        // One stream: nobody could join its requests, so holding them would only add latency.
        for (var i = 0; i < 3; i++) Assert.Equal(i * i, await batcher.SubmitAsync(i, "alone", Never));
        // Four at once fill the batch, other streams active or not.
        var full = Enumerable.Range(1, 4).Select(i => batcher.SubmitAsync(i, $"s{i}", Never)).ToList();
        await Task.WhenAll(full);
        Assert.True(clock.Elapsed < delay, $"took {clock.Elapsed.TotalSeconds:F1} s: a request was held for the {delay.TotalSeconds} s delay");
        Assert.Equal([[0], [1], [2], [1, 2, 3, 4]], model.Batches.ToArray());
    }

    [Fact]
    public void A_lone_streams_request_runs_on_the_callers_thread_and_one_that_may_share_goes_through_the_batcher()
    {
        var model = new Model();
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        var caller = Environment.CurrentManagedThreadId;
        Assert.Equal(4, batcher.Run(2, "a", Never));
        Assert.Equal(9, batcher.Run(3, "a", Never));
        // b arrives while a was active lately: b's request is queued for a batch a might join.
        Assert.Equal(16, batcher.Run(4, "b", Never));
        Assert.Equal([caller, caller], model.Threads.Take(2));
        Assert.NotEqual(caller, model.Threads.Last());
        Assert.Equal((3L, 3L), (batcher.Stats().Batches, batcher.Stats().Requests));

        // Expired before it could run, on the caller's path too: counted, never run.
        var e = Assert.Throws<BudgetExpiredException>(() => batcher.Run(5, "a", Stopwatch.GetTimestamp() - 1));
        Assert.Equal("a", e.Stream);
        Assert.Equal(3, model.Batches.Count);
        Assert.Equal(1, batcher.Stats().Expired);
    }

    [Fact]
    public async Task A_batch_that_throws_fails_its_own_requests_only_and_the_batcher_goes_on()
    {
        var model = new Model { Throw = new InvalidOperationException("device lost") };
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.SubmitAsync(1, "s", Never));
        Assert.Equal("device lost", e.Message);
        model.Throw = null;
        Assert.Equal(4, await batcher.SubmitAsync(2, "s", Never));
        Assert.Equal(1, batcher.Stats().Failed);
    }

    [Fact]
    public async Task A_batch_returning_the_wrong_number_of_results_fails_rather_than_mixing_them_up()
    {
        using var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 8, MaxQueueDelay = TimeSpan.Zero }, _ => [1L, 2L], NullLogger.Instance);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.SubmitAsync(1, "s", Never));
        Assert.Contains("returned 2 results", e.Message);
    }

    [Fact]
    public async Task Disposing_fails_what_is_still_queued_and_refuses_new_requests()
    {
        var model = new Model();
        var batcher = new BatchingExecutor<int, long>("stand-in", new BatchingOptions { MaxBatch = 1, MaxQueueDelay = TimeSpan.Zero }, model.Run, NullLogger.Instance);
        model.Busy.Reset();
        var running = batcher.SubmitAsync(1, "s", Never);
        model.Running.Wait(TimeSpan.FromSeconds(10));
        var queued = new List<Task<long>> { batcher.SubmitAsync(2, "s", Never) };
        var disposing = Task.Run(batcher.Dispose);
        // Dispose has begun once new requests are refused; only then may the running batch end.
        while (true)
        {
            try { queued.Add(batcher.SubmitAsync(3, "s", Never)); }
            catch (ObjectDisposedException) { break; }
            await Task.Delay(10);
        }
        model.Busy.Set();
        await disposing;
        Assert.Equal(1, await running);
        foreach (var request in queued) await Assert.ThrowsAsync<ObjectDisposedException>(() => request);
        Assert.Equal([[1]], model.Batches.ToArray());
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(300, 2)]
    [InlineData(8, -1)]
    [InlineData(8, 5000)]
    public void Out_of_range_options_are_refused_with_their_name(int maxBatch, int delayMs)
    {
        var e = Assert.Throws<ArgumentException>(() => new BatchingOptions { MaxBatch = maxBatch, MaxQueueDelay = TimeSpan.FromMilliseconds(delayMs) }.Validated());
        Assert.Contains(maxBatch is < 1 or > 256 ? "max-batch" : "max-queue-delay", e.Message);
    }
}
