using FaceSwap.Contracts.Tracing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FaceSwap.Node.Tracing;

/// <summary>
/// The node's tracer: when <c>faceswap.tracing</c> is on, the frames' spans (<see cref="FrameTracing"/>) are sampled
/// and sent to the OTLP collector. Off, nothing listens, and the edge and stages trace nothing and send no context.
/// </summary>
public static class NodeTracing
{
    /// <param name="node">this node's address or name: the spans' service instance</param>
    public static void Add(IServiceCollection services, TracingSettings settings, string node)
    {
        if (!settings.Enabled) return;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(settings.ServiceName, serviceInstanceId: node))
            .WithTracing(tracing => tracing
                .AddSource(FrameTracing.SourceName)
                // The edge decides per frame (its root span); the workers follow the decision the context carries.
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(settings.SampleRatio)))
                .AddOtlpExporter(otlp => otlp.Endpoint = settings.OtlpEndpoint));
    }
}
