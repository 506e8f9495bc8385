using System.Collections.Concurrent;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Faces.Embedding;
using FaceSwap.Inference.Batching;
using FaceSwap.Swap;
using FaceSwap.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>Four streams of four people on one worker (seed, edge, gpu-worker on loopback TCP): they share the worker's batches, and none gets another's results.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CrossStreamBatchingTests(ClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly BatchingOptions Batching = new() { MaxBatch = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(5) };
    private ThreeNodes _cluster = null!;
    private TestNode Edge => _cluster.Edge;

    public async Task InitializeAsync()
    {
        _ = fixture.PhotoIdentities; // registered before the worker opens them
        _cluster = await ThreeNodes.Start(fixture, batching: Batching);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Four_streams_of_distinct_identities_share_batches_and_every_output_face_is_its_own_streams_identity()
    {
        const int Count = 24, Offset = 40; // each stream its own stretch of the clip: faces at other places and poses
        var identities = fixture.PhotoIdentities;
        var clip = DemoVideo.Frames(Count + (identities.Count - 1) * Offset, 30).ToList();
        var streams = identities.Select((identity, k) => (identity.Id, Face: identity.Face, Frames: clip.Skip(k * Offset).Take(Count).ToList())).ToList();
        try
        {
            var received = streams.Select(_ => new ConcurrentDictionary<long, EmittedFrame>()).ToList();
            var handles = streams.Select((stream, k) => EdgeStream.Run(Edge.System, Source.From(stream.Frames.Select(f => f.Clone()).ToList()),
                new EdgeStreamOptions
                {
                    StreamId = $"batched-{k}", Swap = new StreamSettings(stream.Id, DetectEvery: 5),
                    FramesPerSecond = 0.2, BudgetMs = 10_000, Parallelism = 1, BufferSize = Count,
                },
                Edge.Detect, Edge.Swap, Sink.ForEach<EmittedFrame>(f => received[k][f.Seq] = f), marks: null)).ToList();
            await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TimeSpan.FromMinutes(3));
            foreach (var (handle, k) in handles.Select((h, k) => (h, k)))
            {
                var stats = handle.Ledger.Snapshot();
                output.WriteLine($"stream {k} ({streams[k].Id}): {stats.Served} served, {stats.FailMode} fail-mode, dropped {string.Join(", ", stats.Dropped)}");
                Assert.Equal(Count, stats.Served);
            }

            var batching = _cluster.Worker.Worker!.BatchingStats();
            foreach (var s in batching) output.WriteLine(s.ToString());
            var facemesh = batching.Single(s => s.Model == "facemesh");
            Assert.True(facemesh.MeanBatch > 1, $"FaceMesh ran one stream at a time: {facemesh}");
            // Held for company at most the max queue delay: the batcher closes every batch by then (its unit tests show
            // it exactly). What the books show past it is its thread woken late: here three nodes, four streams and the
            // test share two cores, so the bound allows the scheduler's latency. BENCHMARKS.md has the figures unloaded.
            Assert.True(facemesh.MaxHeldMs <= Batching.MaxQueueDelay.TotalMilliseconds + 50, $"a request was held {facemesh.MaxHeldMs:F1} ms for batching: {facemesh}");
            Assert.All(batching, s => Assert.Equal(0, s.Expired + s.Failed));

            // Identity: each output face against the same target frame swapped in process with each of the four
            // identities. Its nearest, by MobileFace embedding and by pixels, must be its own stream's identity.
            using var analyzer = fixture.OpenAnalyzer();
            var wrong = new List<string>();
            for (var k = 0; k < streams.Count; k++)
            {
                var references = identities.Select(identity =>
                {
                    var engine = new StreamSwapEngine(analyzer, identity.Face, new StreamEngineOptions { DetectEvery = 5 });
                    return streams[k].Frames.Select(f => { var copy = f.Clone(); engine.Process(copy); return copy; }).ToList();
                }).ToList();
                for (var i = 0; i < Count; i += 3)
                {
                    using var got = received[k][i].Image.Clone();
                    var embedding = LargestFaceEmbedding(analyzer, got);
                    var cosines = references.Select(r => Embedder.Cosine(embedding, LargestFaceEmbedding(analyzer, r[i]))).ToList();
                    var psnr = references.Select(r => Cv2.PSNR(got, r[i])).ToList();
                    output.WriteLine($"stream {k} frame {i}: cosine to the in-process swaps of [{string.Join(", ", cosines.Select(c => c.ToString("F3")))}], PSNR [{string.Join(", ", psnr.Select(p => p.ToString("F1")))}] dB");
                    if (cosines.IndexOf(cosines.Max()) != k || psnr.IndexOf(psnr.Max()) != k)
                        wrong.Add($"stream {k} frame {i}: nearest by embedding {cosines.IndexOf(cosines.Max())}, by pixels {psnr.IndexOf(psnr.Max())}");
                }
                foreach (var r in references.SelectMany(r => r)) r.Dispose();
            }
            Assert.Empty(wrong);
            foreach (var f in received.SelectMany(r => r.Values)) f.Dispose();
        }
        finally
        {
            foreach (var f in clip) f.Dispose();
        }
    }

    private static float[] LargestFaceEmbedding(FaceSwap.Faces.FaceAnalyzer analyzer, Mat frame) =>
        analyzer.Analyze(BgrImage.Of(frame)).MaxBy(f => f.Detection.Box.Width)?.Embedding
        ?? throw new InvalidOperationException("no face in the frame");
}
