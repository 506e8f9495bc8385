using System.Text.Json.Nodes;

namespace FaceSwap.Testing;

/// <summary>
/// Seeded mutation fuzzing for the inputs that clients and files control (frames, messages, manifests, models,
/// socket messages): each target starts from valid seeds, mutates them, and checks that every case either parses or
/// fails with the target's own clear exception, never anything else. <see cref="Cases"/> is short in CI;
/// <c>FSC_FULL=1</c> runs 100 000 per target (<c>FSC_FUZZ_CASES</c> sets any count, <c>FSC_FUZZ_SEED</c> the seed).
/// A case that fails is written to the test output with its seed and index, so it can become a regression test.
/// </summary>
public static class Fuzz
{
    /// <summary>Cases per target: FSC_FUZZ_CASES, else 100 000 with FSC_FULL=1, else <paramref name="ci"/>.</summary>
    public static int Cases(int ci) =>
        Environment.GetEnvironmentVariable("FSC_FUZZ_CASES") is { Length: > 0 } text && int.TryParse(text, out var n) && n > 0 ? n
        : Environment.GetEnvironmentVariable("FSC_FULL") == "1" ? 100_000 : ci;

    public static int Seed =>
        Environment.GetEnvironmentVariable("FSC_FUZZ_SEED") is { Length: > 0 } text && int.TryParse(text, out var seed) ? seed : 20261205;

    /// <summary>One random mutation of <paramref name="seed"/>, or a stack of a few, or random bytes.</summary>
    public static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        var rounds = random.Next(10) switch { < 6 => 1, < 9 => random.Next(2, 6), _ => 0 };
        if (rounds == 0) return RandomBytes(random, random.Next(0, 2 * seed.Length + 16));
        for (var r = 0; r < rounds; r++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(8))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;                          // flip a bit
                case 1 when bytes.Count > 0: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;          // an edge value
                case 2 when bytes.Count > 0: bytes.RemoveRange(at, bytes.Count - at); break;                                 // cut short
                case 3: bytes.InsertRange(at, RandomBytes(random, random.Next(1, 64))); break;                         // insert junk
                case 4 when bytes.Count > 1:                                                                            // delete a run
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 64))); break;
                case 5 when bytes.Count > 1:                                                                            // duplicate a run
                    var length = Math.Min(bytes.Count - at, random.Next(1, 256));
                    bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length)); break;
                case 6 when bytes.Count >= 4:                                                                           // a 32-bit edge value
                    var word = BitConverter.GetBytes(InterestingInts[random.Next(InterestingInts.Length)]);
                    for (var i = 0; i < 4 && at + i < bytes.Count; i++) bytes[at + i] = word[i];
                    break;
                default: if (bytes.Count > 0) bytes[at] = (byte)random.Next(256); break;                             // a random byte
            }
        }
        return [.. bytes];
    }

    /// <summary>A structural mutation of JSON: a value replaced (by null, another type, a huge or odd value), a key removed, renamed or added, deep nesting.</summary>
    public static JsonNode? MutateJson(Random random, JsonNode? node)
    {
        var copy = node?.DeepClone();
        var rounds = random.Next(1, 4);
        for (var r = 0; r < rounds; r++) copy = MutateOne(random, copy);
        return copy;
    }

    private static JsonNode? MutateOne(Random random, JsonNode? root)
    {
        var nodes = new List<JsonNode>();
        void Walk(JsonNode? n)
        {
            if (n is null) return;
            nodes.Add(n);
            if (n is JsonObject o) foreach (var (_, v) in o.ToList()) Walk(v);
            if (n is JsonArray a) foreach (var v in a.ToList()) Walk(v);
        }
        Walk(root);
        if (nodes.Count == 0) return OddValue(random);
        var target = nodes[random.Next(nodes.Count)];
        var parent = target.Parent;
        switch (random.Next(5))
        {
            case 0 when parent is JsonObject o:
                o.Remove(o.First(p => ReferenceEquals(p.Value, target)).Key);
                break;
            case 1 when target is JsonObject o:
                o[OddString(random)] = OddValue(random);
                break;
            case 2 when target is JsonArray a:
                a.Add(OddValue(random));
                break;
            default:
                var replacement = OddValue(random);
                if (parent is JsonObject po) po[po.First(p => ReferenceEquals(p.Value, target)).Key] = replacement;
                else if (parent is JsonArray pa) pa[pa.IndexOf(target)] = replacement;
                else return replacement;
                break;
        }
        return root;
    }

    private static JsonNode? OddValue(Random random) => random.Next(12) switch
    {
        0 => null,
        1 => JsonValue.Create(0),
        2 => JsonValue.Create(-1),
        3 => JsonValue.Create(long.MaxValue),
        4 => JsonValue.Create(1e308),
        5 => JsonValue.Create(double.Epsilon),
        6 => JsonValue.Create(""),
        7 => JsonValue.Create(OddString(random)),
        8 => new JsonArray(),
        9 => new JsonObject(),
        10 => JsonValue.Create(random.Next(2) == 0),
        _ => Nested(random.Next(1, 300)),
    };

    private static JsonNode Nested(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++) node = new JsonArray(node);
        return node;
    }

    private static readonly string[] OddStrings = ["../../etc/passwd", "NaN", "-1", "0", "Infinity", "\u0000", "\ud800", "<script>", "%s%n", "a:0", "CON", "💥", new string('x', 5000)];

    private static string OddString(Random random) => OddStrings[random.Next(OddStrings.Length)];

    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0xD8, 0xD9, 0xC0, 0xC4, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0x90, 0x80];
    private static readonly int[] InterestingInts = [0, -1, 1, int.MaxValue, int.MinValue, 0x7FFF, 0x8000, 0xFFFF, 65536, 1 << 24];

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
