namespace FaceSwap.Cli.Remote;

/// <summary>An aligned text table for people (numbers right-aligned), as pbm prints them; scripts take --json.</summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public Table Row(params object?[] cells)
    {
        _rows.Add([.. cells.Select(Cell)]);
        return this;
    }

    public int Count => _rows.Count;

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var numeric = headers.Select((_, i) => _rows.Count > 0 && _rows.All(r => r[i].Length == 0 || double.TryParse(r[i].TrimEnd('%'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double _))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => numeric[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        return string.Join(Environment.NewLine, [Line(headers), .. _rows.Select(Line)]);
    }

    private static string Cell(object? value) => value switch
    {
        null => "",
        double d => d.ToString(Math.Abs(d) >= 100 ? "0" : "0.0", System.Globalization.CultureInfo.InvariantCulture),
        float f => Cell((double)f),
        bool b => b ? "yes" : "no",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
