using System.Net;
using System.Net.Http.Headers;
using FaceSwap.Contracts;
using FaceSwap.Node.Management;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node.Tests;

/// <summary>
/// The management endpoint's protections on a real node (Kestrel on a loopback port): the bearer token (and its
/// rotation through the token file without a restart), the rate limit, the body cap, names checked before use; the
/// probes and metrics stay open.
/// </summary>
public sealed class ManagementApiTests : IAsyncLifetime
{
    private readonly TestPaths.TempDir _dir = new();
    private IHost _host = null!;
    private HttpClient _http = null!;
    private string TokenFile => Path.Combine(_dir.Path, "management.token");

    public async Task InitializeAsync()
    {
        File.WriteAllText(TokenFile, "alpha\n");
        var loaded = NodeSettings.Load();
        var settings = loaded with
        {
            Roles = [Roles.Seed],
            Port = TestPorts.Free(),
            Seeds = [],
            Management = loaded.Management with { Port = 0, Token = null, TokenFile = TokenFile, RequestsPerSecond = 2, Burst = 10 },
            Placement = loaded.Placement with { DurableDir = Path.Combine(_dir.Path, "placement") },
        };
        _host = NodeHost.Build(settings, worker: null, logLevel: LogLevel.Warning);
        await _host.StartAsync();
        await StreamRunner.WhenUp(_host, TimeSpan.FromSeconds(60));
        _http = new HttpClient { BaseAddress = new Uri(NodeHost.ManagementAddress(_host)!) };
    }

    private async Task<HttpStatusCode> Get(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task The_API_needs_a_token_from_the_file_and_a_token_rotates_without_a_restart_while_probes_and_metrics_stay_open()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/cluster", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/cluster", "wrong"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/cluster", "alpha"));
        Assert.Equal(HttpStatusCode.OK, await Get("healthz", null));
        Assert.Equal(HttpStatusCode.OK, await Get("readyz", null));
        Assert.Equal(HttpStatusCode.OK, await Get("metrics", null));

        // Rotation: the new token is added, clients move, the old one is removed.
        File.AppendAllText(TokenFile, "beta\n");
        Assert.Equal(HttpStatusCode.OK, await Get("api/cluster", "beta"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/cluster", "alpha"));
        File.WriteAllText(TokenFile, "beta\n");
        File.SetLastWriteTimeUtc(TokenFile, DateTime.UtcNow.AddSeconds(1)); // a coarse file clock must still see the change
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/cluster", "alpha"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/cluster", "beta"));
    }

    [Fact]
    public async Task Too_many_requests_get_429_with_a_retry_hint_and_a_large_body_413_and_the_node_goes_on_answering()
    {
        using var large = new HttpRequestMessage(HttpMethod.Post, "api/cluster/down-unreachable") { Content = new ByteArrayContent(new byte[32 * 1024]) }; // over the cap, under the socket buffer: the refusal arrives whole
        large.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alpha");
        using var refused = await _http.SendAsync(large);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Contains("over the API's", await refused.Content.ReadAsStringAsync());

        var statuses = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 30; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/cluster");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alpha");
            using var response = await _http.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) retryAfter ??= response.Headers.RetryAfter?.ToString();
        }
        // The burst of 10 (less the refused large request, which counted), plus 2 a second while the loop ran.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.OK), 9, 20);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal("1", retryAfter);
        Assert.Equal(HttpStatusCode.OK, await Get("healthz", null)); // probes are not limited
    }

    [Fact]
    public async Task A_model_name_that_is_a_path_is_refused_before_it_reaches_the_coordinator()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/models/unpin?model=..%2F..%2Fetc%2Fpasswd");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alpha");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("is not a model name", await response.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.StopAsync();
        _host.Dispose();
        _dir.Dispose();
    }
}
