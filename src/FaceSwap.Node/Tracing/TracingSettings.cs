using Akka.Configuration;

namespace FaceSwap.Node.Tracing;

/// <summary>The <c>faceswap.tracing</c> section: per-frame spans, off by default; when on, a share of frames is traced and sent over OTLP.</summary>
/// <param name="SampleRatio">the share of frames the edge starts a trace for (the workers follow the edge's decision)</param>
/// <param name="OtlpEndpoint">the OTLP/gRPC collector the spans go to</param>
/// <param name="ServiceName">the service name the spans' resource carries</param>
public sealed record TracingSettings(bool Enabled, double SampleRatio, Uri OtlpEndpoint, string ServiceName)
{
    public const string SectionPath = "faceswap.tracing";

    public static TracingSettings Off { get; } = new(false, 1.0, new Uri("http://127.0.0.1:4317"), "faceswap");

    /// <summary>The section, validated (also when off, so a mistake shows before someone turns it on).</summary>
    /// <exception cref="ArgumentException">a value is out of range or malformed; the message names the key</exception>
    public static TracingSettings From(Config config)
    {
        var ratio = config.GetDouble($"{SectionPath}.sample-ratio", Off.SampleRatio);
        if (!(ratio is >= 0 and <= 1))
            throw new ArgumentException($"sample-ratio {ratio} is not in [0, 1] (the share of frames traced: 1 traces every frame)");
        var endpoint = config.GetString($"{SectionPath}.otlp-endpoint", Off.OtlpEndpoint.ToString());
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"otlp-endpoint '{endpoint}' is not an absolute http or https URI (the collector's OTLP/gRPC port, e.g. http://127.0.0.1:4317)");
        var service = config.GetString($"{SectionPath}.service-name", Off.ServiceName);
        if (string.IsNullOrWhiteSpace(service))
            throw new ArgumentException("service-name is empty (the name spans are reported under, e.g. faceswap)");
        return new TracingSettings(config.GetBoolean($"{SectionPath}.enabled", false), ratio, uri, service);
    }
}
