using System.Diagnostics;
using System.Runtime.Serialization;
using FaceSwap.Testing;
using Xunit.Abstractions;

namespace FaceSwap.Contracts.Tests;

/// <summary>
/// Fuzzing the wire: every contract's valid bytes (from <see cref="MessageGenerator"/>), mutated, under every
/// manifest. Each case deserializes to a message that serializes again, or fails with a
/// <see cref="SerializationException"/> (which Akka remoting logs and drops, keeping the association); nothing
/// else, and no case takes long. 3 000 cases in CI; <c>FSC_FULL=1</c> runs 100 000.
/// </summary>
public sealed class ContractFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Mutated_messages_deserialize_or_fail_with_a_serialization_exception_only()
    {
        var random = new Random(Fuzz.Seed);
        var generator = new MessageGenerator(Fuzz.Seed);
        var contracts = FaceSwapSerializer.Contracts;
        var seeds = contracts.SelectMany(t => Enumerable.Range(0, 3).Select(_ => (Manifest: t.Name, Bytes: FaceSwapSerializer.Serialize((IFaceSwapMessage)generator.Create(t))))).ToList();
        var cases = Fuzz.Cases(3_000);
        var (read, refused, slowest) = (0, 0, TimeSpan.Zero);
        for (var i = 0; i < cases; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var bytes = Fuzz.Mutate(random, seed.Bytes);
            // Mostly its own manifest; sometimes another's, as a confused or hostile peer would send.
            var manifest = random.Next(8) == 0 ? contracts[random.Next(contracts.Count)].Name : seed.Manifest;
            var clock = Stopwatch.StartNew();
            try
            {
                var message = FaceSwapSerializer.Deserialize(bytes, manifest);
                FaceSwapSerializer.Serialize((IFaceSwapMessage)message);
                read++;
            }
            catch (SerializationException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {Fuzz.Seed}, manifest {manifest}, {bytes.Length} bytes {Convert.ToHexString(bytes.AsSpan(0, Math.Min(64, bytes.Length)))}…): {e.GetType().Name}: {e.Message}");
            }
            if (clock.Elapsed > slowest) slowest = clock.Elapsed;
        }
        output.WriteLine($"{cases} cases: {read} read, {refused} refused; slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.True(slowest < TimeSpan.FromSeconds(5), $"a case took {slowest.TotalMilliseconds:F0} ms: a peer could stall a node's remoting with it");
        Assert.True(refused > 0 && read > 0, "the mutations should produce both readable and refused payloads");
    }
}
