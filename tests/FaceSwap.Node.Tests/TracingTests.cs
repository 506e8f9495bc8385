using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Configuration;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Tracing;
using FaceSwap.Edge;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Node.Tracing;
using FaceSwap.Swap.Evaluation;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Node.Tests;

/// <summary>
/// A frame's trace across nodes: the edge on one node, the worker (detect, swap, enhance) on another, each its own
/// ActorSystem over TCP; an in-memory exporter in the test process gets the spans of both. The enhancer is a
/// generated ONNX model of GFPGAN 1.4's signature.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TracingTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const string StreamId = "traced";
    private readonly TestPaths.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_swapped_and_enhanced_frame_has_one_span_per_stage_across_the_nodes_with_the_right_parents()
    {
        var store = EnhancerStore(out var enhancer);
        await using var edge = await fixture.Start([Roles.Seed, Roles.Edge]);
        await using var worker = await fixture.Start([Roles.Worker], edge.Settings.SelfAddress, enhancers: store);
        await ClusterFixture.AllUp(2, edge, worker);
        await worker.Placed(enhancer);
        Assert.NotEqual(edge.Address, worker.Address);

        // Other test classes' frames may be traced while this provider listens: only this stream's spans count.
        var spans = new LockedSpans();
        using (Sdk.CreateTracerProviderBuilder().AddSource(FrameTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(spans).Build())
        {
            using var still = StillFrames.Astronaut640x480();
            var handle = EdgeStream.Run(edge.System, Source.From(Enumerable.Range(0, 6).Select(_ => still.Clone()).ToList()),
                new EdgeStreamOptions
                {
                    StreamId = StreamId, Swap = new StreamSettings(ClusterFixture.Identity, Enhancer: enhancer, EnhanceBlend: 1),
                    FramesPerSecond = 0.2, BudgetMs = 10_000, Parallelism = 1, BufferSize = 6,
                },
                edge.Detect, edge.Swap, Sink.ForEach<EmittedFrame>(f => f.Dispose()), marks: null);
            await handle.Completion.WaitAsync(TimeSpan.FromMinutes(1));
            var stats = handle.Ledger.Snapshot();
            output.WriteLine($"{stats.Served} served, {stats.FailMode} fail-mode, dropped {string.Join(", ", stats.Dropped)}");
            Assert.True(stats.Latency.TryGetValue(EdgeStages.WorkerEnhance, out var enhanced) && enhanced.Count > 0, "no frame was enhanced");
        }

        var traces = spans.Snapshot().Where(s => Equals(s.GetTagItem(FrameTracing.StreamTag), StreamId)).GroupBy(s => s.TraceId).ToList();
        foreach (var trace in traces)
            output.WriteLine($"{trace.Key}: {string.Join(", ", trace.Select(s => $"{s.OperationName} {s.SpanId} under {s.ParentSpanId}"))}");
        Assert.All(traces, t => Assert.Equal(t.Count(), t.Select(s => s.OperationName).Distinct().Count()));
        // A frame that went through every stage: the first detects (nothing tracked yet), and every frame is enhanced.
        string[] stages = [FrameTracing.Frame, FrameTracing.Detect, FrameTracing.Swap, FrameTracing.Enhance, FrameTracing.Composite];
        var full = traces.FirstOrDefault(t => stages.All(stage => t.Any(s => s.OperationName == stage)));
        Assert.True(full is not null, "no frame's trace has a span of every stage");
        var spansOf = full.ToList();
        Assert.Equal(stages.Order(), spansOf.Select(s => s.OperationName).Order());
        var byStage = spansOf.ToDictionary(s => s.OperationName);

        var frame = byStage[FrameTracing.Frame];
        Assert.Equal(default, frame.ParentSpanId);
        Assert.False(frame.HasRemoteParent);
        Assert.Equal(frame.SpanId, byStage[FrameTracing.Detect].ParentSpanId);
        Assert.Equal(frame.SpanId, byStage[FrameTracing.Swap].ParentSpanId);
        Assert.Equal(frame.SpanId, byStage[FrameTracing.Composite].ParentSpanId);
        Assert.Equal(byStage[FrameTracing.Swap].SpanId, byStage[FrameTracing.Enhance].ParentSpanId);
        // Edge spans come from the edge's ActorSystem, worker spans from the worker's, each over the wire from the last.
        foreach (var stage in new[] { FrameTracing.Frame, FrameTracing.Composite })
            Assert.Equal(edge.Address, byStage[stage].GetTagItem(FrameTracing.NodeTag));
        foreach (var stage in new[] { FrameTracing.Detect, FrameTracing.Swap, FrameTracing.Enhance })
        {
            Assert.Equal(worker.Address, byStage[stage].GetTagItem(FrameTracing.WorkerTag));
            Assert.True(byStage[stage].HasRemoteParent, $"{stage} was not parented by the context its message carried");
        }
        Assert.Single(spansOf.Select(s => s.GetTagItem(FrameTracing.SeqTag)).Distinct());
        Assert.All(spansOf, s => Assert.Equal(ActivityStatusCode.Unset, s.Status));
    }

    [Fact]
    public void With_no_listener_nothing_is_traced_and_messages_get_no_context()
    {
        Assert.False(FrameTracing.Source.HasListeners());
        Assert.Null(FrameTracing.StartFrame(StreamId, 1, "edge"));
        Assert.Null(FrameTracing.StartStage(FrameTracing.Detect, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "worker", StreamId, 1));
        Assert.Null(FrameTracing.StartChild(FrameTracing.Composite, null));
        Assert.Null(FrameTracing.TraceParent(null));
    }

    [Fact]
    public void The_shipped_config_has_tracing_off_and_bad_values_are_refused_with_the_key()
    {
        var shipped = TracingSettings.From(NodeSettings.Load().Config);
        Assert.Equal(new TracingSettings(false, 1.0, new Uri("http://127.0.0.1:4317"), "faceswap"), shipped);

        var on = TracingSettings.From(ConfigurationFactory.ParseString("""faceswap.tracing { enabled = on, sample-ratio = 0.25, otlp-endpoint = "https://collector:4317" }"""));
        Assert.Equal((true, 0.25, "https://collector:4317/"), (on.Enabled, on.SampleRatio, on.OtlpEndpoint.ToString()));

        Assert.Contains("sample-ratio 1.5 is not in [0, 1]", Refused("sample-ratio = 1.5"));
        Assert.Contains("sample-ratio -0.1 is not in [0, 1]", Refused("sample-ratio = -0.1"));
        Assert.Contains("otlp-endpoint 'collector:4317' is not an absolute http or https URI", Refused("otlp-endpoint = \"collector:4317\""));
        Assert.Contains("otlp-endpoint '/v1/traces' is not an absolute http or https URI", Refused("otlp-endpoint = \"/v1/traces\""));
        Assert.Contains("service-name is empty", Refused("service-name = \" \""));

        static string Refused(string setting) =>
            Assert.Throws<ArgumentException>(() => TracingSettings.From(ConfigurationFactory.ParseString($"faceswap.tracing {{ {setting} }}"))).Message;
    }

    [Fact]
    public void The_tracer_is_registered_only_when_tracing_is_on()
    {
        using (var off = Services(TracingSettings.Off))
            Assert.Null(off.GetService<TracerProvider>());
        using var on = Services(TracingSettings.Off with { Enabled = true, SampleRatio = 0.5 });
        Assert.NotNull(on.GetService<TracerProvider>());
    }

    [Fact]
    public async Task When_on_a_frame_span_is_sent_to_the_configured_OTLP_endpoint()
    {
        // A stand-in collector: it only has to see the exporter connect and send.
        var collector = new TcpListener(IPAddress.Loopback, 0);
        collector.Start();
        try
        {
            var endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)collector.LocalEndpoint).Port}");
            using var services = Services(TracingSettings.Off with { Enabled = true, OtlpEndpoint = endpoint });
            var provider = services.GetRequiredService<TracerProvider>();
            using (var frame = FrameTracing.StartFrame(StreamId, 1, "edge"))
                Assert.NotNull(FrameTracing.TraceParent(frame));
            var flush = Task.Run(() => provider.ForceFlush(5000));
            using var exporter = await collector.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var sent = new byte[24];
            await exporter.GetStream().ReadExactlyAsync(sent).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"the exporter sent: {Encoding.ASCII.GetString(sent).ReplaceLineEndings(" ")}");
            Assert.StartsWith("PRI * HTTP/2.0", Encoding.ASCII.GetString(sent)); // gRPC: HTTP/2 without TLS
            exporter.Close();
            await flush;
        }
        finally
        {
            collector.Stop();
        }
    }

    private static ServiceProvider Services(TracingSettings settings)
    {
        var services = new ServiceCollection();
        NodeTracing.Add(services, settings, "akka.tcp://faceswap@127.0.0.1:4053");
        return services.BuildServiceProvider();
    }

    /// <summary>A store holding a generated GFPGAN-shaped enhancer (it halves the face's pixels).</summary>
    private ModelStore EnhancerStore(out string name)
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        var graph = new OnnxGraphBuilder("generated-gfpgan-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, 512, 512);
        var half = graph.AddInitializer("half", [0.5f], 1, 1, 1, 1);
        graph.AddOutputNode("Mul", ["input", half], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        var file = Path.Combine(_dir.Path, "gfpgan.onnx");
        File.WriteAllBytes(file, graph.Build("test", "1", "generated").ToByteArray());
        name = PresetChecker.Add(store, PresetChecker.Check(file, ModelPresets.Gfpgan14)).Name;
        return store;
    }

    /// <summary>The exporter's collection: spans end on both nodes' threads, and the test reads it meanwhile.</summary>
    private sealed class LockedSpans : Collection<Activity>
    {
        private readonly Lock _lock = new();

        protected override void InsertItem(int index, Activity item)
        {
            lock (_lock) base.InsertItem(index, item);
        }

        public List<Activity> Snapshot()
        {
            lock (_lock) return [.. this];
        }
    }
}
