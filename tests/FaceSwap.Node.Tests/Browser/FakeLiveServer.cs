using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FaceSwap.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node.Tests.Browser;

/// <summary>
/// A small stand-in for the edge's live endpoint (docs/live.md), to test the page without a cluster: serves the
/// page's embedded resources, answers <c>/live/identities</c> with one identity, and on <c>/live/ws</c> checks the
/// token, answers <c>started</c>, echoes every frame back with the 32-byte output header, sends <c>stats</c> each
/// second and answers <c>settings</c> and <c>stop</c>. Records what the page sent.
/// </summary>
public sealed class FakeLiveServer : IAsyncDisposable
{
    public const string Token = "live-test-token";
    public const string IdentityId = "average";
    public const string WrongTokenReason = "no token or a wrong one";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<HttpContext, byte> _open = new();
    private int _streamCounter;
    private int _connections;
    private long _framesReceived;

    public string BaseUrl { get; }
    public int Connections => Volatile.Read(ref _connections);
    public long FramesReceived => Interlocked.Read(ref _framesReceived);
    public ConcurrentQueue<string> StreamsStarted { get; } = new();
    public ConcurrentQueue<JsonObject> SettingsReceived { get; } = new();
    public ConcurrentQueue<string> StartMessages { get; } = new();
    public int OpenSockets => _open.Count;

    private FakeLiveServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<FakeLiveServer> StartAsync()
    {
        var port = TestPorts.Free();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var server = new FakeLiveServer(app, $"http://127.0.0.1:{port}");
        app.UseWebSockets();
        app.MapGet("/live", () => Resource("live.html", "text/html; charset=utf-8"));
        app.MapGet("/live/live.js", () => Resource("live.js", "text/javascript; charset=utf-8"));
        app.MapGet("/live/live.css", () => Resource("live.css", "text/css; charset=utf-8"));
        app.MapGet("/live/identities", (HttpContext ctx) =>
            ctx.Request.Headers.Authorization.ToString() == $"Bearer {Token}"
                ? Results.Json(server._identities.ToArray())
                : Results.Json(new { ok = false, message = "wrong live token" }, statusCode: 401));
        app.MapPost("/live/identities", (Func<HttpContext, Task<IResult>>)server.Register);
        app.Map("/live/ws", server.Accept);
        await app.StartAsync();
        return server;
    }

    private readonly ConcurrentQueue<Identity> _identities = new([new Identity(IdentityId, "Average face", "test", "2099-01-01T00:00:00Z")]);
    public sealed record Identity(string id, string label, string consentBy, string? expiresAt);

    /// <summary>The registrations the page posted: the form's fields (and the photo's length as <c>photoBytes</c>).</summary>
    public ConcurrentQueue<Dictionary<string, string>> Registrations { get; } = new();

    /// <summary>
    /// POST /live/identities: a photo and consentBy are needed; a consentBy of "no-face" is answered with the 400 the
    /// node gives for a photo without a face.
    /// </summary>
    private async Task<IResult> Register(HttpContext ctx)
    {
        if (ctx.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
            return Results.Json(new { ok = false, message = "wrong live token" }, statusCode: 401);
        if (!ctx.Request.HasFormContentType) return Results.Json(new { ok = false, message = "expected a multipart form" }, statusCode: 400);
        var form = await ctx.Request.ReadFormAsync();
        var fields = form.ToDictionary(f => f.Key, f => f.Value.ToString());
        var photo = form.Files.GetFile("photo");
        fields["photoBytes"] = (photo?.Length ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Registrations.Enqueue(fields);
        if (photo is null || photo.Length == 0) return Results.Json(new { ok = false, message = "a photo is needed" }, statusCode: 400);
        var consentBy = fields.GetValueOrDefault("consentBy") ?? "";
        if (consentBy.Length == 0) return Results.Json(new { ok = false, message = "consentBy is needed" }, statusCode: 400);
        if (consentBy == "no-face") return Results.Json(new { ok = false, message = "no face found in the photo" }, statusCode: 400);
        var id = $"face-{_identities.Count + 1}";
        _identities.Enqueue(new Identity(id, $"Registered {id}", consentBy, null));
        return Results.Json(new { id });
    }

    /// <summary>The page's resources as the node embeds them (live/live.html, live/live.js, live/live.css).</summary>
    public static IResult Resource(string name, string contentType)
    {
        var stream = typeof(NodeHost).Assembly.GetManifestResourceStream($"live/{name}")
            ?? throw new InvalidOperationException($"embedded resource live/{name} is missing from {typeof(NodeHost).Assembly.GetName().Name}");
        return Results.Stream(stream, contentType);
    }

    /// <summary>Drops every open WebSocket without a close handshake (the page sees 1006).</summary>
    public void AbortAll()
    {
        foreach (var ctx in _open.Keys) ctx.Abort();
    }

    private async Task Accept(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            ctx.Response.StatusCode = 400;
            return;
        }
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        Interlocked.Increment(ref _connections);
        _open[ctx] = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        try
        {
            await Serve(ws, done);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException or ObjectDisposedException)
        {
            // the socket was dropped (AbortAll) or the page went away
        }
        finally
        {
            done.Cancel();
            _open.TryRemove(ctx, out _);
        }
    }

    private async Task Serve(WebSocket ws, CancellationTokenSource done)
    {
        var sendLock = new SemaphoreSlim(1, 1);
        async Task SendText(JsonNode message)
        {
            await sendLock.WaitAsync(done.Token);
            try { await ws.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, done.Token); }
            finally { sendLock.Release(); }
        }
        async Task Close(WebSocketCloseStatus status, string reason, string? error)
        {
            if (error is not null) await SendText(new JsonObject { ["type"] = "error", ["message"] = error });
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try { await ws.CloseAsync(status, reason, timeout.Token); }
            catch (OperationCanceledException) { }
        }

        using var firstTimeout = CancellationTokenSource.CreateLinkedTokenSource(done.Token);
        firstTimeout.CancelAfter(TimeSpan.FromSeconds(5));
        var (type, first) = await Receive(ws, firstTimeout.Token);
        if (type == WebSocketMessageType.Close) return;
        if (type != WebSocketMessageType.Text) { await Close(WebSocketCloseStatus.InvalidMessageType, "a binary frame before started", null); return; }
        var start = JsonNode.Parse(first) as JsonObject;
        StartMessages.Enqueue(Encoding.UTF8.GetString(first));
        if (start?["type"]?.GetValue<string>() != "start") { await Close(WebSocketCloseStatus.InvalidMessageType, "the first message must be start", null); return; }
        if (start["token"]?.GetValue<string>() != Token) { await Close(WebSocketCloseStatus.PolicyViolation, WrongTokenReason, "wrong live token"); return; }

        var settings = new JsonObject
        {
            ["selection"] = "Largest", ["enhancer"] = null, ["enhanceStrength"] = 1.0, ["blend"] = "Feather",
            ["color"] = "LabStatistics", ["detectEvery"] = 1, ["failMode"] = "Blur", ["label"] = "synthetic media",
        };
        if (start["settings"] is JsonObject requested)
            foreach (var (key, value) in requested) settings[key] = value?.DeepClone();
        var streamId = $"live-{Interlocked.Increment(ref _streamCounter):x6}";
        StreamsStarted.Enqueue(streamId);
        await SendText(new JsonObject
        {
            ["type"] = "started", ["stream"] = streamId, ["session"] = Guid.NewGuid().ToString("n"), ["budgetMs"] = 150,
            ["maxFrameBytes"] = 1048576, ["maxFps"] = 60, ["mjpeg"] = $"/live/streams/{streamId}/mjpeg", ["settings"] = settings.DeepClone(),
        });

        long served = 0;
        var stats = Task.Run(async () =>
        {
            long last = 0;
            try
            {
                while (!done.IsCancellationRequested)
                {
                    await Task.Delay(1000, done.Token);
                    var now = Interlocked.Read(ref served);
                    var stage = (string provider) => new JsonObject { ["p50"] = 1.5, ["p99"] = 3.0, ["provider"] = provider, ["worker"] = "fake-worker" };
                    await SendText(new JsonObject
                    {
                        ["type"] = "stats", ["fps"] = now - last, ["served"] = now, ["failMode"] = 0, ["dropped"] = 0,
                        ["latencyMs"] = new JsonObject { ["p50"] = 2.0, ["p99"] = 5.0 },
                        ["stages"] = new JsonObject
                        {
                            ["detect"] = stage("Cpu"), ["swap"] = stage("Cpu"), ["enhance"] = stage("Cpu"), ["composite"] = stage("Cpu"), ["encode"] = stage("Cpu"),
                        },
                    });
                    last = now;
                }
            }
            catch (Exception) { /* the stream ended */ }
        });

        try
        {
            while (true)
            {
                var (kind, data) = await Receive(ws, done.Token);
                if (kind == WebSocketMessageType.Close)
                {
                    if (ws.State == WebSocketState.CloseReceived) await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                if (kind == WebSocketMessageType.Binary)
                {
                    if (data.Length < 8) { await Close(WebSocketCloseStatus.InvalidPayloadData, "a header shorter than 8 bytes", null); return; }
                    var received = DateTime.UtcNow;
                    Interlocked.Increment(ref _framesReceived);
                    var output = new byte[32 + data.Length - 8];
                    data.AsSpan(0, 8).CopyTo(output);                                                  // capture time, echoed
                    BinaryPrimitives.WriteInt64LittleEndian(output.AsSpan(8), Interlocked.Increment(ref served)); // sequence
                    BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(16), 0);                    // flags: swapped
                    BinaryPrimitives.WriteSingleLittleEndian(output.AsSpan(20), (float)(DateTime.UtcNow - received).TotalMilliseconds);
                    data.AsSpan(8).CopyTo(output.AsSpan(32));
                    await sendLock.WaitAsync(done.Token);
                    try { await ws.SendAsync(output, WebSocketMessageType.Binary, true, done.Token); }
                    finally { sendLock.Release(); }
                    continue;
                }
                var message = JsonNode.Parse(data) as JsonObject;
                switch (message?["type"]?.GetValue<string>())
                {
                    case "settings" when message["settings"] is JsonObject change:
                        SettingsReceived.Enqueue((JsonObject)change.DeepClone());
                        foreach (var (key, value) in change) settings[key] = value?.DeepClone();
                        await SendText(new JsonObject { ["type"] = "settings", ["settings"] = settings.DeepClone() });
                        break;
                    case "stop":
                        await SendText(new JsonObject { ["type"] = "stopped", ["stats"] = new JsonObject { ["served"] = Interlocked.Read(ref served) } });
                        await Close(WebSocketCloseStatus.NormalClosure, "stopped", null);
                        return;
                    default:
                        await Close(WebSocketCloseStatus.InvalidMessageType, "a message that is not part of this protocol", null);
                        return;
                }
            }
        }
        finally
        {
            done.Cancel();
            await stats;
        }
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> Receive(WebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close) return (WebSocketMessageType.Close, []);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return (result.MessageType, message.ToArray());
        }
    }

    public async ValueTask DisposeAsync()
    {
        AbortAll();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
