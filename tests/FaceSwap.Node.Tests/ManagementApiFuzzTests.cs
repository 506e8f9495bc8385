using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FaceSwap.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// Random requests against a real node's management API (seeded, so a failure replays): every one gets an answer
/// below 500 (a refusal with its reason, or the data), and the node stays healthy and answers a good request after.
/// The node's own leave and down are left out (they end it, rightly); the palette test runs them.
/// 400 requests in CI; <c>FSC_FULL=1</c> runs 100 000 (<see cref="Fuzz"/>).
/// </summary>
public sealed class ManagementApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Paths =
    [
        "api/cluster", "api/cluster/tail", "api/cluster/join", "api/cluster/down-unreachable",
        "api/sharding/regions", "api/sharding/region-stats", "api/sharding/shard-stats", "api/actors", "api/log",
        "api/models/placement", "api/models/pin", "api/models/unpin", "api/models/load", "api/models/unload",
        "api/nodes/drain", "api/nodes/undrain", "api/streams", "api/streams/x", "api/doctor", "healthz", "readyz", "metrics", "api", "api/nowhere",
    ];

    private static readonly string[] Keys = ["address", "model", "node", "type", "depth", "lines", "level", "x", ""];

    private readonly TestPaths.TempDir _dir = new();
    private IHost _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var loaded = NodeSettings.Load();
        var settings = loaded with
        {
            Roles = [Roles.Seed],
            Port = TestPorts.Free(),
            Seeds = [],
            Management = loaded.Management with { Port = 0, Token = "fuzz", RequestsPerSecond = 100_000, Burst = 100_000 },
            Placement = loaded.Placement with { DurableDir = Path.Combine(_dir.Path, "placement") },
        };
        _host = NodeHost.Build(settings, worker: null, logLevel: LogLevel.Warning);
        await _host.StartAsync();
        await StreamRunner.WhenUp(_host, TimeSpan.FromSeconds(60));
        _http = new HttpClient { BaseAddress = new Uri(NodeHost.ManagementAddress(_host)!), Timeout = TimeSpan.FromSeconds(30) };
    }

    [Fact]
    public async Task Random_requests_get_an_answer_below_500_and_the_node_stays_healthy()
    {
        var count = Fuzz.Cases(400);
        var random = new Random(Fuzz.Seed);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < count; i++)
        {
            using var request = Request(random);
            var described = $"{request.Method} {request.RequestUri}";
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            HttpStatusCode status;
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                status = response.StatusCode;
            }
            catch (TaskCanceledException) when (described.Contains("cluster/tail", StringComparison.Ordinal))
            {
                continue; // the tail streams until the client goes: that is its answer
            }
            catch (HttpRequestException e)
            {
                throw new InvalidOperationException($"request {i}: {described[..Math.Min(300, described.Length)]} ({described.Length} chars, body {request.Content?.Headers.ContentLength}): {e.Message}", e);
            }
            statuses[(int)status] = statuses.GetValueOrDefault((int)status) + 1;
            Assert.True((int)status < 500, $"request {i}: {described} got {(int)status}");
        }
        output.WriteLine($"{count} requests: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} × {s.Value}")));

        using var good = new HttpRequestMessage(HttpMethod.Get, "api/cluster");
        good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "fuzz");
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(good)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("healthz")).StatusCode);
    }

    private static HttpRequestMessage Request(Random random)
    {
        var path = Paths[random.Next(Paths.Length)];
        if (random.Next(8) == 0) path += "/" + Garbage(random, 12);
        var query = string.Join("&", Enumerable.Range(0, random.Next(4)).Select(_ => $"{Keys[random.Next(Keys.Length)]}={Uri.EscapeDataString(Value(random))}"));
        var method = random.Next(6) switch { 0 => HttpMethod.Put, 1 => HttpMethod.Delete, < 4 => HttpMethod.Post, _ => HttpMethod.Get };
        var request = new HttpRequestMessage(method, query.Length == 0 ? path : $"{path}?{query}");
        switch (random.Next(5))
        {
            case 0:
                break; // no token
            case 1:
                // HTTP headers carry ASCII only (HttpClient refuses to send anything else).
                request.Headers.TryAddWithoutValidation("Authorization", new string([.. Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)random.Next(0x21, 0x7f))]));
                break;
            default:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "fuzz");
                break;
        }
        // Small bodies only: a server that answers before reading a large body closes the connection while the
        // client still writes it (a client-side error, not an answer); ManagementApiTests covers the cap itself.
        if (random.Next(6) == 0) request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Garbage(random, random.Next(2) == 0 ? 64 : 1024)));
        return request;
    }

    /// <summary>A value of the kinds a careless or hostile client sends: addresses, names, paths, numbers, junk.</summary>
    private static string Value(Random random) => random.Next(9) switch
    {
        0 => "akka.tcp://faceswap@127.0.0.1:" + random.Next(-5, 70_000),
        1 => "127.0.0.1:" + random.Next(0, 65_536),
        2 => "../../etc/passwd",
        3 => "face-analysis",
        4 => random.Next(int.MinValue, int.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
        5 => "information",
        6 => new string('a', random.Next(1, 5000)),
        7 => "",
        _ => Garbage(random, 30),
    };

    private static string Garbage(Random random, int length)
    {
        var chars = new char[random.Next(1, length + 1)];
        for (var i = 0; i < chars.Length; i++) chars[i] = (char)random.Next(1, 0x3000);
        return new string(chars.Where(c => !char.IsSurrogate(c)).ToArray());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.StopAsync();
        _host.Dispose();
        _dir.Dispose();
    }
}
