using System.Globalization;
using System.Net.WebSockets;
using System.Reflection;
using System.Text;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Contracts.Management;
using FaceSwap.Edge;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node.Management;
using FaceSwap.Vision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>
/// An edge's live endpoints on its HTTP port (docs/live.md): the page, the identities it lists and registers, the
/// WebSocket ingest, each stream's MJPEG output; and under the management API, what <c>fsc stream start|stop|set</c>
/// speaks to.
/// </summary>
public static class LiveEndpoints
{
    private const string Boundary = "fscframe";
    private static readonly Lock Registering = new();

    /// <summary>The page's files, embedded: live.html, live.js, live.css.</summary>
    public static byte[]? PageFile(string name)
    {
        using var stream = typeof(LiveEndpoints).Assembly.GetManifestResourceStream($"live/{name}");
        if (stream is null) return null;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    public static void Map(WebApplication app, NodeSettings settings)
    {
        var live = settings.Live;
        var tokens = new ManagementTokens(live.Token, live.TokenFile);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("live");
        LiveSessions Sessions() => app.Services.GetRequiredService<LiveSessions>();
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        stopping.Register(() => Sessions().StopAll(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult());
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });

        bool Authorized(HttpContext context, bool queryToo = false)
        {
            var header = context.Request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim()
                : queryToo ? context.Request.Query["token"].ToString() : null;
            if (tokens.Accepts(token)) return true;
            logger.LogWarning("live: refused {Method} {Path} from {Remote}: no valid live token", context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress);
            return false;
        }
        static IResult Unauthorized() => Results.Json(new CommandResult(false, "a valid live token is required (the edge's faceswap.live token file)"), statusCode: 401);

        app.MapGet("/live", () => Page("live.html", "text/html; charset=utf-8"));
        app.MapGet("/live/live.js", () => Page("live.js", "text/javascript; charset=utf-8"));
        app.MapGet("/live/live.css", () => Page("live.css", "text/css; charset=utf-8"));

        app.MapGet("/live/identities", (HttpContext context) =>
        {
            if (!Authorized(context)) return Unauthorized();
            using var consent = new ConsentRegistry(settings.Fsc.ConsentDatabase, logger: logger);
            var now = DateTimeOffset.UtcNow;
            return Results.Json(consent.List().Where(r => r.Covers(ConsentScopes.Stream) && !r.IsExpired(now))
                .Select(r => new { id = r.IdentityId, label = r.IdentityId == IdentityIds.Average ? "synthetic average face (nobody)" : r.IdentityId, consentBy = r.ConsentBy, expiresAt = r.ExpiresAt }));
        });
        app.MapPost("/live/identities", async (HttpContext context) =>
        {
            if (!Authorized(context)) return Unauthorized();
            try
            {
                return Results.Json(new { id = await Register(context, settings, logger) });
            }
            catch (ArgumentException e)
            {
                return Results.Json(new CommandResult(false, e.Message), statusCode: 400);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Most likely an edge without the face models to check the photo with: say so, and where else to register.
                logger.LogError(e, "live: registering an identity from {Remote} failed", context.Connection.RemoteIpAddress);
                return Results.Json(new CommandResult(false, $"this edge could not register the photo ({e.GetType().Name}: {e.Message}); an operator can register it with 'fsc identities add'"), statusCode: 500);
            }
        });

        app.Map("/live/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("a WebSocket upgrade is expected here (docs/live.md)");
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var client = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
            await new LiveSocket(socket, Sessions(), tokens, live, client, logger).Run(stopping);
        });

        app.MapGet("/live/streams/{id}/mjpeg", async (HttpContext context, string id) =>
        {
            if (!Authorized(context, queryToo: true))
            {
                await Unauthorized().ExecuteAsync(context);
                return;
            }
            if (Sessions().Get(id) is not { } session)
            {
                await Results.Json(new CommandResult(false, $"no live stream '{id}' on this edge"), statusCode: 404).ExecuteAsync(context);
                return;
            }
            await Mjpeg(context, session);
        });

        MapApi(app, settings);
    }

    private static IResult Page(string name, string type) =>
        PageFile(name) is { } bytes ? Results.Bytes(bytes, type) : Results.NotFound($"the page's {name} is not embedded in this build");

    /// <summary>The stream's marked output as multipart MJPEG, each frame as it is emitted (a slow client skips frames).</summary>
    private static async Task Mjpeg(HttpContext context, LiveSession session)
    {
        context.Response.ContentType = $"multipart/x-mixed-replace; boundary={Boundary}";
        context.Response.Headers.CacheControl = "no-store";
        var (frames, leave) = session.Watch();
        using (leave)
        {
            try
            {
                await foreach (var frame in frames.ReadAllAsync(context.RequestAborted))
                {
                    var head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {frame.Jpeg.Length}\r\nX-Frame-Seq: {frame.Seq}\r\n\r\n");
                    await context.Response.Body.WriteAsync(head, context.RequestAborted);
                    await context.Response.Body.WriteAsync(frame.Jpeg, context.RequestAborted);
                    await context.Response.Body.WriteAsync("\r\n"u8.ToArray(), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
                // The viewer went away.
            }
        }
    }

    /// <summary>A photo and its consent form → a registered identity, as <c>fsc identities add</c>; one registration at a time (the analyser is opened for it).</summary>
    private static async Task<string> Register(HttpContext context, NodeSettings settings, ILogger logger)
    {
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = LiveSettings.MaxPhotoBytes + 64 * 1024;
        if (!context.Request.HasFormContentType) throw new ArgumentException("send the photo and the consent form as multipart/form-data");
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var photo = form.Files["photo"] ?? throw new ArgumentException("no photo (form field 'photo')");
        if (photo.Length > LiveSettings.MaxPhotoBytes) throw new ArgumentException($"the photo is {photo.Length} bytes; the limit is {LiveSettings.MaxPhotoBytes}");
        var bytes = new byte[photo.Length];
        await using (var stream = photo.OpenReadStream()) await stream.ReadExactlyAsync(bytes, context.RequestAborted);
        if (ImageHeader.Read(bytes) is not { } header || header.Format is not ("JPEG" or "PNG"))
            throw new ArgumentException("the photo must be a JPEG or PNG image");
        if (header.Width is < 64 or > 8192 || header.Height is < 64 or > 8192) throw new ArgumentException($"the photo is {header.Width}x{header.Height}; 64 to 8192 pixels a side");
        var scopes = form["scope"].Where(s => !string.IsNullOrWhiteSpace(s)).SelectMany(s => s!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (scopes.Count == 0) scopes.Add(ConsentScopes.Stream);
        var expires = Expiry(form["expires"].ToString(), DateTimeOffset.UtcNow);
        using var image = Cv2.ImDecode(bytes, ImreadModes.Color);
        if (image.Empty()) throw new ArgumentException("the photo does not decode (damaged or cut short)");
        var actor = $"live page {context.Connection.RemoteIpAddress}";
        lock (Registering)
        {
            using var analyzer = FaceAnalyzer.Open(new ModelStore(RepositoryPaths.ModelStore), new InferenceOptions(), DetectorOptions.Photos, logger);
            var record = IdentityRegistration.Register(settings.Fsc, analyzer, image, Path.GetFileName(photo.FileName), form["consentBy"].ToString(), scopes, expires,
                form["note"].ToString() is { Length: > 0 } note ? note : null, actor, logger);
            logger.LogInformation("live: identity {Identity} registered from the page by {Actor}", record.IdentityId, actor);
            return record.IdentityId;
        }
    }

    /// <summary>A consent's end: a duration from now (90d, 12h) or a date/time.</summary>
    public static DateTimeOffset? Expiry(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length == 0) return null;
        if (text.Length > 1 && int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            switch (text[^1])
            {
                case 'd': return now.AddDays(n);
                case 'h': return now.AddHours(n);
            }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at > now) return at;
        throw new ArgumentException($"expires '{text}' is neither a future date (2027-06-30) nor a duration (90d, 12h)");
    }

    /// <summary>
    /// <c>fsc stream start|stop|set</c> on this edge (management token; the API takes its arguments in the query):
    /// start a stream from a URL or camera, stop any live stream, change a stream's controls.
    /// </summary>
    private static void MapApi(WebApplication app, NodeSettings settings)
    {
        LiveSessions Sessions() => app.Services.GetRequiredService<LiveSessions>();
        var api = app.MapGroup("/api/streams");
        api.MapPost("/start", async (string source, string identity, double? fps, string? id, string? record, string? push, HttpContext context) =>
        {
            try
            {
                var controls = Controls(context.Request.Query);
                var session = await Sessions().StartCapture(new LiveStart(id, identity, fps ?? 30, source, controls, record, push), context.RequestAborted);
                return Results.Json(new LiveStreamStarted(session.StreamId, session.SessionName, session.Start.Source, [.. session.Outputs.Select(o => o.Describe)],
                    $"/live/streams/{session.StreamId}/mjpeg"));
            }
            catch (LiveRefusedException e)
            {
                return Results.Json(new CommandResult(false, e.Message), statusCode: e.Conflict ? 409 : 400);
            }
            catch (ArgumentException e)
            {
                return Results.Json(new CommandResult(false, e.Message), statusCode: 400);
            }
            catch (Exception e) when (e is StreamRefusedException or IOException or FaceSwap.Vision.ImageFileException)
            {
                return Results.Json(new CommandResult(false, e.Message), statusCode: 409);
            }
        });
        api.MapPost("/stop", async (string id) =>
        {
            if (Sessions().Get(id) is not { } session) return Results.Json(new CommandResult(false, $"no live stream '{id}' on this edge"), statusCode: 404);
            session.Stop("stopped by an operator");
            await session.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            return Results.Json(new CommandResult(true, $"stream {id} stopped"));
        });
        api.MapPost("/set", (string id, HttpContext context) =>
        {
            if (Sessions().Get(id) is not { } session) return Results.Json(new CommandResult(false, $"no live stream '{id}' on this edge"), statusCode: 404);
            try
            {
                var change = Controls(context.Request.Query) ?? throw new ArgumentException("no setting to change (selection, enhancer, enhanceStrength, blend, color, detectEvery, failMode, label)");
                return Results.Json(Sessions().Change(session, change, $"management API {context.Connection.RemoteIpAddress}"));
            }
            catch (ArgumentException e)
            {
                return Results.Json(new CommandResult(false, e.Message), statusCode: 400);
            }
        });
    }

    /// <summary>The live controls named in a query, or null when it names none.</summary>
    private static LiveControls? Controls(IQueryCollection query)
    {
        string? Text(string key) => query.TryGetValue(key, out var value) ? value.ToString() : null;
        T? Number<T>(string key) where T : struct, IParsable<T> =>
            Text(key) is { } text ? T.TryParse(text, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{key} '{text}' is not a number") : null;
        var controls = new LiveControls
        {
            Selection = Text("selection"), Enhancer = Text("enhancer"), EnhanceStrength = Number<float>("enhanceStrength"), Blend = Text("blend"),
            Color = Text("color"), DetectEvery = Number<int>("detectEvery"), FailMode = Text("failMode"), Label = Text("label"),
        };
        return controls == new LiveControls() ? null : controls;
    }
}
