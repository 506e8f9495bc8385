using System.Globalization;
using System.Text;

namespace FaceSwap.Node.Management;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per family, then its
/// samples. The node's figures are read from its books at scrape time, so they never drift from what
/// <c>fsc streams stats</c> shows.
/// </summary>
public sealed class MetricsText
{
    private readonly StringBuilder _text = new();

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public MetricsText Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    public MetricsText Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(Format(value)).Append('\n');
        return this;
    }

    /// <summary>A histogram's buckets (cumulative counts at each upper bound), sum and count, with the family's labels.</summary>
    public MetricsText Histogram(string name, IReadOnlyList<double> bounds, IReadOnlyList<long> cumulative, double sum, long count, params (string Name, string Value)[] labels)
    {
        for (var i = 0; i < bounds.Count; i++)
            Sample(name + "_bucket", cumulative[i], [.. labels, ("le", Format(bounds[i]))]);
        Sample(name + "_bucket", count, [.. labels, ("le", "+Inf")]);
        Sample(name + "_sum", sum, labels);
        Sample(name + "_count", count, labels);
        return this;
    }

    public override string ToString() => _text.ToString();

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string Format(double value) => double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN" : value.ToString(CultureInfo.InvariantCulture);
}
