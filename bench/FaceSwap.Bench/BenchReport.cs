using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FaceSwap.Inference.Models;

namespace FaceSwap.Bench;

/// <summary>
/// How a campaign's figures reach <c>BENCHMARKS.md</c>: each campaign writes its table (with the exact command and the
/// date) as a fragment under <c>.cache/bench/</c>, and <c>report</c> splices every fragment into the block of the same
/// name, between <c>&lt;!-- bench:NAME --&gt;</c> and <c>&lt;!-- /bench:NAME --&gt;</c>. The prose around the blocks
/// (what the figures mean, misses and their causes) stays as people wrote it.
/// </summary>
public static partial class BenchReport
{
    /// <summary>Where fragments go; <c>FSC_BENCH_OUT</c> overrides it (the quick run keeps its own).</summary>
    public static string FragmentDir =>
        Environment.GetEnvironmentVariable("FSC_BENCH_OUT") is { Length: > 0 } dir ? dir : Path.Combine(RepositoryPaths.Root, ".cache", "bench");

    /// <summary>Where plots go: <c>docs/</c>, or the fragment folder in a quick run (its plots are not the record).</summary>
    public static string PlotPath(string fileName) =>
        Environment.GetEnvironmentVariable("FSC_BENCH_OUT") is { Length: > 0 } dir ? Path.Combine(dir, fileName) : Path.Combine(RepositoryPaths.Root, "docs", fileName);

    /// <summary>The command line that reproduces a campaign, as people type it.</summary>
    public static string Command(string campaign, params string[] args) =>
        $"dotnet run --project bench/FaceSwap.Bench -c Release -- {campaign}{string.Concat(args.Select(a => " " + a))}";

    /// <summary>Writes the fragment <paramref name="name"/>: a line with the command, the date and the machine, then <paramref name="markdown"/>.</summary>
    public static string Fragment(string name, string command, string markdown)
    {
        Directory.CreateDirectory(FragmentDir);
        var path = Path.Combine(FragmentDir, name + ".md");
        var header = string.Create(CultureInfo.InvariantCulture,
            $"Command: `{command}`; measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores ({Environment.MachineName}).");
        File.WriteAllText(path, header + "\n\n" + markdown.TrimEnd() + "\n");
        Console.WriteLine($"fragment: {path}");
        return path;
    }

    /// <summary>Table cells, formatted the same on every machine (no locale's separators).</summary>
    public static string[] Cells(params FormattableString[] cells) => [.. cells.Select(FormattableString.Invariant)];

    /// <summary>A markdown table from a header row and rows (cells already formatted).</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? align = null)
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        text.Append('|').AppendJoin('|', (align ?? new string('r', header.Count)).Select((a, i) => i == 0 || a == 'l' ? "---" : "---:")).AppendLine("|");
        foreach (var row in rows) text.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        return text.ToString();
    }

    /// <summary>
    /// Records a target an issue states next to its measured value: the campaign's rows go to
    /// <c>targets-CAMPAIGN.md</c>, and <c>report</c> gathers every campaign's rows into the <c>targets</c> block.
    /// </summary>
    public static void Targets(string campaign, params (string Issue, string Target, string Measured, bool Met)[] targets)
    {
        Directory.CreateDirectory(FragmentDir);
        File.WriteAllLines(Path.Combine(FragmentDir, $"targets-{campaign}.md"),
            targets.Select(t => $"| {t.Issue} | {t.Target} | {t.Measured} | {(t.Met ? "met" : "**missed**")} | `{campaign}` |"));
    }

    /// <summary>The targets block: every campaign's target rows, or null when no campaign recorded one.</summary>
    private static string? TargetsTable(string fragments)
    {
        var rows = Directory.Exists(fragments)
            ? Directory.GetFiles(fragments, "targets-*.md").Order(StringComparer.Ordinal).SelectMany(File.ReadAllLines).ToList()
            : [];
        if (rows.Count == 0) return null;
        return "| issue | target | measured | | campaign |\n|---|---|---|---|---|\n" + string.Join("\n", rows);
    }

    [GeneratedRegex(@"<!-- bench:(?<name>[a-z0-9-]+) -->\n(?<body>.*?)<!-- /bench:\k<name> -->", RegexOptions.Singleline)]
    private static partial Regex Block();

    /// <summary>The names of the blocks <paramref name="markdown"/> holds, in order.</summary>
    public static IReadOnlyList<string> Blocks(string markdown) => [.. Block().Matches(markdown).Select(m => m.Groups["name"].Value)];

    /// <summary>
    /// Replaces each block of <paramref name="markdown"/> that has a fragment in <paramref name="fragments"/> with it;
    /// returns the new text and the blocks left as they were (no fragment: that campaign did not run).
    /// </summary>
    public static (string Text, IReadOnlyList<string> Missing) Splice(string markdown, string fragments)
    {
        var missing = new List<string>();
        var text = Block().Replace(markdown, m =>
        {
            var name = m.Groups["name"].Value;
            var file = Path.Combine(fragments, name + ".md");
            if (name == "targets" && TargetsTable(fragments) is { } targets)
                return $"<!-- bench:{name} -->\n{targets}\n<!-- /bench:{name} -->";
            if (!File.Exists(file))
            {
                missing.Add(name);
                return m.Value;
            }
            return $"<!-- bench:{name} -->\n{File.ReadAllText(file).TrimEnd()}\n<!-- /bench:{name} -->";
        });
        return (text, missing);
    }

    /// <summary>
    /// <c>report [--into FILE] [--require]</c>: splices the fragments into BENCHMARKS.md (or FILE); with
    /// <c>--require</c>, fails when a block got no fragment (the quick run's check that every campaign still works).
    /// </summary>
    public static int Run(string[] args)
    {
        var into = Path.Combine(RepositoryPaths.Root, "BENCHMARKS.md");
        var require = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--into" && i + 1 < args.Length) into = args[++i];
            else if (args[i] == "--require") require = true;
            else throw new ArgumentException($"report: unknown argument '{args[i]}'; use report [--into FILE] [--require]");
        }
        var source = File.Exists(into) ? into : Path.Combine(RepositoryPaths.Root, "BENCHMARKS.md");
        var (text, missing) = Splice(File.ReadAllText(source), FragmentDir);
        File.WriteAllText(into, text);
        var blocks = Blocks(text);
        Console.WriteLine($"report: {blocks.Count - missing.Count} of {blocks.Count} blocks regenerated into {into}");
        if (missing.Count == 0) return 0;
        Console.WriteLine($"report: no fresh figures for {string.Join(", ", missing)} (kept as they were)");
        return require ? 1 : 0;
    }
}
