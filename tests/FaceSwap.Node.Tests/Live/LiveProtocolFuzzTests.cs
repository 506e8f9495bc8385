using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FaceSwap.Edge;
using FaceSwap.Node.Live;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests.Live;

/// <summary>
/// Fuzzing the live protocol (docs/live.md). The controls parser on its own: every mutated settings object applies
/// or is refused with an <see cref="ArgumentException"/>. Then a real edge's socket: connections each sending a
/// random run of start messages, frames, settings, stops and junk, valid and mutated. The server answers each
/// connection with one of the documented close codes (or keeps it), and afterwards no stream is left running and a
/// good client is still served. CI: 3 000 settings, 300 socket messages; <c>FSC_FULL=1</c>: 100 000 of each.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LiveProtocolFuzzTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Documented = [1000, 1001, 1003, 1007, 1008, 1009, 1011, 1013];
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly JsonNode Settings = JsonNode.Parse("""
        {"selection":"Largest","enhancer":null,"enhanceStrength":0.5,"blend":"Seamless","color":"None","detectEvery":3,"failMode":"Hold","label":"FUZZ"}
        """)!;

    [Fact]
    public void Mutated_settings_apply_or_are_refused_with_an_argument_exception_only()
    {
        var random = new Random(Fuzz.Seed);
        var current = new StreamControls.Values(new FaceSwap.Contracts.StreamSettings("average"), FailMode.Blur, null);
        var cases = Fuzz.Cases(3_000);
        var (applied, refused) = (0, 0);
        for (var i = 0; i < cases; i++)
        {
            var text = random.Next(4) == 0 ? Encoding.UTF8.GetString(Fuzz.Mutate(random, Encoding.UTF8.GetBytes(Settings.ToJsonString())))
                : Fuzz.MutateJson(random, Settings)?.ToJsonString() ?? "null";
            try
            {
                using var document = JsonDocument.Parse(text);
                var next = LiveControls.Parse(document.RootElement).Apply(current, name => name == "gfpgan");
                // Whatever was accepted is a setting the swap stage can build an engine from.
                Assert.InRange(next.Swap.DetectEvery, 1, 60);
                Assert.InRange(next.Swap.EnhanceBlend, 0, 1);
                Assert.True(next.Label is null || next.Label.Length is >= 1 and <= 64);
                applied++;
            }
            catch (Exception e) when (e is ArgumentException or JsonException)
            {
                refused++;
            }
        }
        output.WriteLine($"{cases} settings: {applied} applied, {refused} refused");
        Assert.True(applied > 0 && refused > 0);
    }

    [Fact]
    public async Task A_socket_fed_random_and_mutated_messages_closes_with_documented_codes_and_the_edge_stays_well()
    {
        await using var node = await LiveEdgeTests.StartEdge(fixture, _dir.Path, maxFrameBytes: 256 * 1024, idle: TimeSpan.FromSeconds(2));
        var address = LiveEdgeTests.Address(node);
        var sessions = node.Host.Services.GetRequiredService<LiveSessions>();
        using var still = StillFrames.Astronaut640x480();
        var jpeg = ImageCodec.EncodeJpeg(still, 80);
        var start = new JsonObject { ["type"] = "start", ["token"] = LiveEdgeTests.LiveToken, ["identity"] = ClusterFixture.Identity, ["fps"] = 10, ["settings"] = Settings.DeepClone() };
        var random = new Random(Fuzz.Seed);
        var budget = Fuzz.Cases(300);
        var (sent, connections, codes) = (0, 0, new Dictionary<string, int>());
        while (sent < budget)
        {
            connections++;
            await using var client = await LiveClient.Connect(address);
            for (var n = random.Next(1, 12); n > 0 && sent < budget && !client.Closed.Task.IsCompleted; n--, sent++)
            {
                try
                {
                    switch (random.Next(8))
                    {
                        case 0: await client.SendText(start); break;                                                            // a valid start
                        case 1: await client.Send(Encoding.UTF8.GetBytes(Fuzz.MutateJson(random, start)?.ToJsonString() ?? "null"), WebSocketMessageType.Text); break;
                        case 2: await client.SendFrame(jpeg); break;                                                            // a valid frame
                        case 3: await client.SendFrame(Fuzz.Mutate(random, jpeg)); break;                                      // a damaged one
                        case 4: await client.Send(Fuzz.Mutate(random, [.. new byte[8], .. jpeg[..512]]), WebSocketMessageType.Binary); break;
                        case 5:
                            var settings = new JsonObject { ["type"] = "settings", ["settings"] = Fuzz.MutateJson(random, Settings) };
                            await client.Send(Encoding.UTF8.GetBytes(settings.ToJsonString()), WebSocketMessageType.Text);
                            break;
                        case 6: await client.Send(Fuzz.Mutate(random, "{\"type\":\"stop\"}"u8.ToArray()), WebSocketMessageType.Text); break;
                        default: await client.Send(Fuzz.Mutate(random, [1, 2, 3]), random.Next(2) == 0 ? WebSocketMessageType.Text : WebSocketMessageType.Binary); break;
                    }
                }
                catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or IOException)
                {
                    break; // the server closed it while we sent
                }
                await Task.Delay(random.Next(0, 30));
            }
            var closed = await Task.WhenAny(client.Closed.Task, Task.Delay(random.Next(0, 300))) == client.Closed.Task;
            if (closed)
            {
                var (status, reason) = await client.Closed.Task;
                if (status is { } code)
                {
                    Assert.True(Documented.Contains((int)code), $"connection {connections}: close code {(int)code} ({reason}) is not a documented one");
                    // Text that is not UTF-8 is closed by the WebSocket layer itself (RFC 6455: 1007), before our code sees it, with no reason.
                    Assert.True(!string.IsNullOrWhiteSpace(reason) || code == WebSocketCloseStatus.InvalidPayloadData, $"connection {connections}: close {(int)code} without a reason");
                }
                var key = status is null ? "lost" : ((int)status).ToString();
                codes[key] = codes.GetValueOrDefault(key) + 1;
            }
            else codes["left open"] = codes.GetValueOrDefault("left open") + 1;
        }
        output.WriteLine($"{sent} messages over {connections} connections; closes: {string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Key} × {c.Value}"))}");

        // Every fuzzed stream ended (clients gone, idle ones timed out), and a good client is still served.
        await ClusterFixture.Until(() => sessions.All.Count == 0, TimeSpan.FromSeconds(30), () => $"{sessions.All.Count} fuzzed streams still run");
        await using var good = await LiveClient.Connect(address);
        Assert.Equal("started", (await good.Start(LiveEdgeTests.LiveToken, ClusterFixture.Identity, 10)).GetProperty("type").GetString());
        for (var i = 0; i < 100 && good.Frames.Count(f => !f.FailMode) < 3; i++)
        {
            await good.SendFrame(jpeg);
            await Task.Delay(100);
        }
        Assert.True(good.Frames.Count(f => !f.FailMode) >= 3, "a good client was not served after the fuzzing");
    }
}
