using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Contracts.Management;

namespace FaceSwap.Cli.Remote;

/// <summary>A management request failed: the node's reason (or why it could not be reached).</summary>
public sealed class RemoteException(string message) : Exception(message);

/// <summary>
/// Speaks to one node's management API (<c>http://HOST:PORT/api</c>) with its bearer token: the token given, else
/// <c>FSC_MANAGEMENT_TOKEN</c>, else the first line of the token file (<c>FSC_MANAGEMENT_TOKEN_FILE</c>, or the one
/// the local config names: a local cluster's).
/// </summary>
public sealed class ManagementClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly HttpClient _http;

    public ManagementClient(string host, string? token)
    {
        Host = host;
        var baseAddress = host.Contains("://", StringComparison.Ordinal) ? host : $"http://{host}";
        if (!Uri.TryCreate(baseAddress.TrimEnd('/') + "/", UriKind.Absolute, out var uri))
            throw new ArgumentException($"'{host}' is not HOST:PORT");
        _http = new HttpClient { BaseAddress = uri, Timeout = Timeout.InfiniteTimeSpan };
        // A token read from a Secret file may end in a newline: it is no part of the token.
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (token ?? DefaultToken()).Trim());
    }

    public string Host { get; }

    /// <summary>FSC_MANAGEMENT_TOKEN, else the local config's token (or token file), as the nodes of this machine use it.</summary>
    private static string DefaultToken()
    {
        if (Environment.GetEnvironmentVariable("FSC_MANAGEMENT_TOKEN") is { Length: > 0 } token) return token.Trim();
        var (config, source) = FscSettings.LoadConfig();
        if (config.GetString("faceswap.management.token", "") is { Length: > 0 } configured) return configured;
        var file = Environment.GetEnvironmentVariable("FSC_MANAGEMENT_TOKEN_FILE") is { Length: > 0 } named ? named
            : FscSettings.Absolute(config.GetString("faceswap.management.token-file", ".cache/management.token"));
        if (!File.Exists(file))
            throw new ArgumentException($"no management token: give --token, set FSC_MANAGEMENT_TOKEN, or run fsc where the node's token file is ({file}, from {source})");
        return File.ReadAllLines(file).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'))
            ?? throw new ArgumentException($"{file}: the management token file holds no token");
    }

    /// <summary>The node's endpoint, http://host:port/.</summary>
    public Uri Address => _http.BaseAddress!;

    public async Task<T> Get<T>(string path, CancellationToken cancel = default) =>
        await Read<T>(await Send(new HttpRequestMessage(HttpMethod.Get, path), cancel), cancel);

    /// <summary>Posts a command; a refusal (409) comes back as its result, not as an error, so the caller prints the reason.</summary>
    public async Task<T> Post<T>(string path, CancellationToken cancel = default) =>
        await Read<T>(await Send(new HttpRequestMessage(HttpMethod.Post, path), cancel, refusalIsAnswer: true), cancel);

    /// <summary>Lines of a streamed answer (cluster tail), until <paramref name="cancel"/>.</summary>
    public async IAsyncEnumerable<T> Lines<T>(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        using var response = await Send(new HttpRequestMessage(HttpMethod.Get, path), cancel, headersOnly: true);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        while (await reader.ReadLineAsync(cancel) is { } line)
            if (line.Length > 0) yield return JsonSerializer.Deserialize<T>(line, Json)!;
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, CancellationToken cancel, bool refusalIsAnswer = false, bool headersOnly = false)
    {
        HttpResponseMessage response;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            if (!headersOnly) timeout.CancelAfter(TimeSpan.FromSeconds(30));
            response = await _http.SendAsync(request, headersOnly ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"cannot reach the management API at {_http.BaseAddress}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new RemoteException($"{_http.BaseAddress} did not answer {request.RequestUri} within 30 s");
        }
        if (response.IsSuccessStatusCode || refusalIsAnswer && response.StatusCode == HttpStatusCode.Conflict) return response;
        var body = await response.Content.ReadAsStringAsync(cancel);
        string reason;
        try
        {
            reason = JsonSerializer.Deserialize<CommandResult>(body, Json)?.Message ?? body;
        }
        catch (JsonException)
        {
            reason = body;
        }
        response.Dispose();
        throw new RemoteException($"{Host}: {(int)response.StatusCode} {response.ReasonPhrase}: {reason}");
    }

    private static async Task<T> Read<T>(HttpResponseMessage response, CancellationToken cancel)
    {
        using (response)
            return await response.Content.ReadFromJsonAsync<T>(Json, cancel) ?? throw new RemoteException($"{response.RequestMessage?.RequestUri}: an empty answer");
    }

    public void Dispose() => _http.Dispose();
}
