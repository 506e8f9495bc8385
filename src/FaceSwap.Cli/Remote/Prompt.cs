using System.Text;
using System.Text.RegularExpressions;

namespace FaceSwap.Cli.Remote;

/// <summary>
/// <c>fsc HOST:PORT</c>: the palette as an interactive prompt bound to one node (as <c>pbm HOST:PORT</c> is), and
/// <c>fsc HOST:PORT COMMAND...</c>, the same as a one-shot command.
/// </summary>
public static partial class Prompt
{
    /// <summary>HOST:PORT (a name, an IPv4 address or a bracketed IPv6 one), or an http(s) URL.</summary>
    [GeneratedRegex(@"^(https?://\S+|[A-Za-z0-9.\-]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5})$")]
    private static partial Regex HostPattern();

    public static bool IsHost(string arg) => HostPattern().IsMatch(arg);

    /// <summary>The command line with the leading HOST:PORT moved into --host.</summary>
    public static string[] Rewrite(string[] args) => [.. args[1..], "--host", args[0]];

    public static async Task<int> Run(string host, Func<string[], Task<int>> invoke)
    {
        Console.WriteLine($"fsc connected to {host}: 'help' lists the commands, 'exit' leaves");
        while (true)
        {
            Console.Write($"{host}> ");
            var line = Console.ReadLine();
            if (line is null) return 0;
            var words = Split(line);
            if (words.Count == 0) continue;
            if (words[0] is "exit" or "quit") return 0;
            if (words[0] == "help")
            {
                Console.WriteLine(Palette);
                continue;
            }
            await invoke([.. words, "--host", host]);
        }
    }

    public const string Palette = """
        cluster show | join ADDR | leave [ADDR] | down ADDR | down-unreachable | tail [--seconds N]
        cluster-sharding regions | region-stats -r TYPE | shard-stats -r TYPE
        actor hierarchy [-d DEPTH]
        log peek [-n LINES] [--level LEVEL]
        models placement | pin MODEL NODE... | unpin MODEL | load MODEL NODE | unload MODEL NODE
        nodes drain NODE | undrain NODE
        streams list | stats STREAM
        doctor
        (every command takes --json)
        """;

    /// <summary>Splits a line into words, with "double" or 'single' quotes around words that hold spaces.</summary>
    public static List<string> Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        char? quote = null;
        var started = false;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q) quote = null;
                else word.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; started = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (started || word.Length > 0) words.Add(word.ToString());
                word.Clear();
                started = false;
            }
            else word.Append(c);
        }
        if (started || word.Length > 0) words.Add(word.ToString());
        return words;
    }
}
