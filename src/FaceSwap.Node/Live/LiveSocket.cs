using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FaceSwap.Edge;
using FaceSwap.Node.Management;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>
/// One page's socket (docs/live.md): the start message with its token, then JPEG frames up and marked frames down,
/// settings changes, stop. Every way a client can misbehave ends in a close with a code and a reason a person can
/// read, and ends only this client's stream: its frames never reach the graph undecoded, and it never holds the
/// graph up (only its newest frame waits).
/// </summary>
public sealed class LiveSocket(WebSocket socket, LiveSessions sessions, ManagementTokens tokens, LiveSettings live, string client, ILogger logger)
{
    /// <summary>The largest frame a page may send, in pixels per side.</summary>
    public const int MaxSide = 4096;

    /// <summary>RFC 6455's 1013: the server cannot take the stream now; a client may retry.</summary>
    private const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;

    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly byte[] _buffer = new byte[live.MaxFrameBytes + 8];
    private LiveSession? _session;
    private Task<WebSocketReceiveResult>? _receiving;

    /// <summary>The close a client earned: code and reason.</summary>
    private sealed class CloseException(WebSocketCloseStatus status, string reason) : Exception(reason)
    {
        public WebSocketCloseStatus Status { get; } = status;
    }

    public async Task Run(CancellationToken stopping)
    {
        try
        {
            var (session, frames) = await Start(stopping);
            _session = session;
            var viewing = Send(session);
            try
            {
                await Receive(session, frames, stopping);
            }
            finally
            {
                frames.TryComplete();
                session.Stop("its client left");
                await viewing.Stop();
            }
        }
        catch (CloseException e)
        {
            logger.LogWarning("live socket from {Client}{Stream}: closed {Code}: {Reason}", client, _session is null ? "" : $" (stream {_session.StreamId})", (int)e.Status, e.Message);
            await Close(e.Status, e.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await Close(WebSocketCloseStatus.EndpointUnavailable, LiveSession.ShuttingDown);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished mid-message, or the node is stopping: its stream has been stopped above.
            logger.LogWarning("live socket from {Client}{Stream} ended without a close: {Error}", client, _session is null ? "" : $" (stream {_session.StreamId})", e.Message);
        }
    }

    private async Task<(LiveSession, ChannelWriter<(Mat, double)>)> Start(CancellationToken stopping)
    {
        var first = await Next(live.StartTimeout, stopping)
            ?? throw new CloseException(WebSocketCloseStatus.PolicyViolation, $"no start message within {live.StartTimeout.TotalSeconds:0.#} s");
        if (first.MessageType != WebSocketMessageType.Text) throw new CloseException(WebSocketCloseStatus.InvalidMessageType, "the first message must be the start message (JSON text), not a frame");
        var message = Json(first.Count);
        if (Type(message) != "start") throw new CloseException(WebSocketCloseStatus.InvalidMessageType, $"the first message must be a start message, not '{Type(message)}'");
        var token = message.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (string.IsNullOrEmpty(token)) throw new CloseException(WebSocketCloseStatus.PolicyViolation, "no token: the start message needs the live token");
        if (!tokens.Accepts(token)) throw new CloseException(WebSocketCloseStatus.PolicyViolation, "the token is not valid for this edge");
        var identity = message.TryGetProperty("identity", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : "";
        var fps = message.TryGetProperty("fps", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble() : 15;
        // What the client calls itself ("live page"), shown with the stream's source in `fsc streams list`.
        var kind = message.TryGetProperty("client", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 and <= 40 } name
            && name.All(ch => ch is >= ' ' and <= '~') ? $"websocket ({name})" : "websocket";
        LiveControls? controls = null;
        try
        {
            if (message.TryGetProperty("settings", out var s) && s.ValueKind != JsonValueKind.Null) controls = LiveControls.Parse(s);
            if (identity.Length == 0) throw new ArgumentException("the start message names no identity");
        }
        catch (ArgumentException e)
        {
            throw new CloseException(WebSocketCloseStatus.InvalidPayloadData, e.Message);
        }
        LiveSession session;
        ChannelWriter<(Mat, double)> frames;
        try
        {
            (session, frames) = await sessions.StartSocket(new LiveStart(null, identity, fps, kind, controls), stopping);
        }
        catch (Exception e) when (e is LiveRefusedException or StreamRefusedException or Akka.Actor.AskTimeoutException)
        {
            // A full farm or edge may take the stream later (1013, the page retries); a refusal that stands (no consent,
            // an unknown identity, a bad setting) is the client's to fix (1008, the page shows it and waits).
            var later = e is StreamRefusedException { Transient: true } or LiveRefusedException { Conflict: true } or Akka.Actor.AskTimeoutException;
            await SendJson(new { type = "error", message = e.Message });
            throw new CloseException(later ? TryAgainLater : WebSocketCloseStatus.PolicyViolation, Reason(e.Message));
        }
        await SendJson(new
        {
            type = "started", stream = session.StreamId, session = session.SessionName, budgetMs = session.Options.BudgetMs,
            maxFrameBytes = live.MaxFrameBytes, maxFps = live.MaxFps, mjpeg = $"/live/streams/{session.StreamId}/mjpeg",
            settings = sessions.Describe(session),
        });
        return (session, frames);
    }

    private async Task Receive(LiveSession session, ChannelWriter<(Mat, double)> frames, CancellationToken stopping)
    {
        var fps = session.Start.FramesPerSecond;
        // A client may run a little fast (timer jitter), and its frames arrive in a burst after this server stalled (a
        // loaded machine reads the socket late): 1.5× its rate, three seconds' burst. A flood still trips it within seconds.
        var bucket = new RateBucket(1.5 * fps + 2, Math.Max(10, 3 * fps));
        long received = 0;
        // Cancelled once when the stream ends on the server (an operator stopped it, it failed): ends the wait for a message.
        var ended = new CancellationTokenSource();
        _ = session.Completion.ContinueWith(_ => ended.Cancel(), TaskScheduler.Default);
        while (true)
        {
            var next = await Next(live.IdleTimeout, stopping, ended.Token);
            if (next is null)
            {
                // Stopped on purpose (an operator, the node stopping): the client should not start it again; failed: it may.
                if (session.Completion.IsCompleted)
                    throw session.StoppedBecause is { } because
                        ? new CloseException(because == LiveSession.ShuttingDown ? WebSocketCloseStatus.EndpointUnavailable : WebSocketCloseStatus.NormalClosure, because)
                        : new CloseException(WebSocketCloseStatus.InternalServerError, "the stream failed on the server");
                throw new CloseException(WebSocketCloseStatus.EndpointUnavailable, $"no frame for {live.IdleTimeout.TotalSeconds:0.#} s: the stream has ended");
            }
            var result = next;
            if (result.MessageType == WebSocketMessageType.Close)
            {
                logger.LogInformation("live stream {Stream}: the client closed ({Status} {Reason})", session.StreamId, result.CloseStatus, result.CloseStatusDescription);
                await Close(WebSocketCloseStatus.NormalClosure, "closed by the client");
                return;
            }
            if (result.MessageType == WebSocketMessageType.Text)
            {
                var message = Json(result.Count);
                switch (Type(message))
                {
                    case "stop":
                        session.Stop("stopped by its client");
                        await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), stopping);
                        await SendJson(new { type = "stopped", stats = Stats(session) });
                        await Close(WebSocketCloseStatus.NormalClosure, "stopped");
                        return;
                    case "settings":
                        try
                        {
                            var change = message.TryGetProperty("settings", out var s) ? LiveControls.Parse(s) : throw new ArgumentException("the settings message has no settings");
                            await SendJson(new { type = "settings", settings = sessions.Change(session, change, $"live client {client}") });
                        }
                        catch (ArgumentException e)
                        {
                            // A person's mistake in a control is answered, not punished: the stream goes on as it was.
                            await SendJson(new { type = "error", message = e.Message });
                        }
                        continue;
                    default:
                        throw new CloseException(WebSocketCloseStatus.InvalidMessageType, $"unknown message type '{Type(message)}' (start, settings, stop)");
                }
            }
            received++;
            if (!bucket.Take())
                throw new CloseException(WebSocketCloseStatus.PolicyViolation, $"frames arrive faster than the {fps:0.#} fps this stream declared");
            var frame = Decode(result.Count, received);
            if (!frames.TryWrite(frame)) frame.Item1.Dispose();
        }
    }

    /// <summary>The 8-byte capture time, then a JPEG no larger than <see cref="MaxSide"/> a side, decoded.</summary>
    private (Mat, double) Decode(int count, long number)
    {
        if (count < 8 + 4) throw new CloseException(WebSocketCloseStatus.InvalidPayloadData, $"frame {number}: {count} bytes is no 8-byte capture time and JPEG");
        var time = BinaryPrimitives.ReadDoubleLittleEndian(_buffer);
        var jpeg = _buffer.AsSpan(8, count - 8);
        if (ImageHeader.Read(jpeg) is not { Format: "JPEG" } header)
            throw new CloseException(WebSocketCloseStatus.InvalidPayloadData, $"frame {number} is not a JPEG image");
        if (header.Width is < 16 or > MaxSide || header.Height is < 16 or > MaxSide)
            throw new CloseException(WebSocketCloseStatus.InvalidPayloadData, $"frame {number} is {header.Width}x{header.Height}; frames are 16 to {MaxSide} pixels a side");
        var image = Cv2.ImDecode(jpeg, ImreadModes.Color);
        if (image.Empty() || image.Width != header.Width || image.Height != header.Height)
        {
            image.Dispose();
            throw new CloseException(WebSocketCloseStatus.InvalidPayloadData, $"frame {number}: the JPEG does not decode (damaged or cut short)");
        }
        return (image, time);
    }

    /// <summary>
    /// The viewer side: each output frame as header + JPEG, and the stream's figures once a second. Stopping it
    /// cancels its waits, never a send: a cancelled send aborts the socket, and the close that follows would be lost.
    /// </summary>
    private Viewer Send(LiveSession session)
    {
        var (reader, leave) = session.Watch();
        var cancel = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            var header = new byte[32];
            var nextStats = DateTime.UtcNow.AddSeconds(1);
            try
            {
                while (true)
                {
                    var wait = nextStats - DateTime.UtcNow;
                    if (wait > TimeSpan.Zero)
                    {
                        var readable = reader.WaitToReadAsync(cancel.Token).AsTask();
                        if (await Task.WhenAny(readable, Task.Delay(wait, cancel.Token)) == readable && !await readable) return; // the stream ended
                    }
                    while (reader.TryRead(out var frame))
                    {
                        BinaryPrimitives.WriteDoubleLittleEndian(header, frame.ClientTime);
                        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), frame.Seq);
                        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), frame.FailMode ? 1 : 0);
                        BinaryPrimitives.WriteSingleLittleEndian(header.AsSpan(20), (float)frame.AgeMs);
                        await SendFrame(header, frame.Jpeg, CancellationToken.None);
                    }
                    if (DateTime.UtcNow >= nextStats)
                    {
                        nextStats = DateTime.UtcNow.AddSeconds(1);
                        await SendJson(Stats(session), CancellationToken.None);
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The socket closed under us: the receive side ends the stream.
            }
            catch (Exception e)
            {
                logger.LogError(e, "live stream {Stream}: sending to {Client} failed", session.StreamId, client);
            }
        }, CancellationToken.None);
        return new Viewer(loop, cancel, leave, socket);
    }

    private sealed class Viewer(Task loop, CancellationTokenSource waits, IDisposable leave, WebSocket socket)
    {
        public async Task Stop()
        {
            await waits.CancelAsync();
            // A send stuck on a client that vanished without closing: abort, there is no one to say goodbye to.
            if (await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(2))) != loop) socket.Abort();
            leave.Dispose();
            waits.Dispose();
        }
    }

    private object Stats(LiveSession session) => sessions.Stats(session);

    private async Task SendFrame(byte[] header, byte[] jpeg, CancellationToken cancel)
    {
        await _send.WaitAsync(cancel);
        try
        {
            if (socket.State != WebSocketState.Open) return;
            await socket.SendAsync(header, WebSocketMessageType.Binary, endOfMessage: false, cancel);
            await socket.SendAsync(jpeg, WebSocketMessageType.Binary, endOfMessage: true, cancel);
        }
        finally
        {
            _send.Release();
        }
    }

    private async Task SendJson(object message, CancellationToken cancel = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(message);
        await _send.WaitAsync(cancel);
        try
        {
            if (socket.State == WebSocketState.Open) await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancel);
        }
        finally
        {
            _send.Release();
        }
    }

    private async Task Close(WebSocketCloseStatus status, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        await _send.WaitAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(status, Reason(reason), timeout.Token);
            // Wait (briefly) for the client's close: returning now would drop the connection under the close frame,
            // and the client would see 1006 (connection lost) instead of this code and reason.
            if (socket.State == WebSocketState.CloseSent)
            {
                Task answer = _receiving is { IsCompleted: false } pending ? pending : socket.ReceiveAsync(new byte[1024], timeout.Token);
                await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(2)));
                _ = answer.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            logger.LogDebug("live socket from {Client}: the close could not be sent: {Error}", client, e.Message);
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>A close reason fits in 123 bytes of UTF-8.</summary>
    private static string Reason(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) <= 123) return text;
        while (Encoding.UTF8.GetByteCount(text) > 120) text = text[..^1];
        return text + "...";
    }

    /// <summary>The next whole message (null: none within <paramref name="timeout"/>, or <paramref name="ended"/> was cancelled first).</summary>
    /// <remarks>
    /// One timer per message, cancelled as soon as the message comes, and nothing registered per message on a task
    /// that lives as long as the stream (a soak runs millions of messages through one socket).
    /// </remarks>
    private async Task<WebSocketReceiveResult?> Next(TimeSpan timeout, CancellationToken stopping, CancellationToken ended = default)
    {
        var receive = _receiving = ReceiveWhole(stopping);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping, ended);
        var done = await Task.WhenAny(receive, Task.Delay(timeout, wait.Token));
        if (done == receive)
        {
            await wait.CancelAsync(); // the timer goes now, not after the idle timeout
            return await receive;
        }
        stopping.ThrowIfCancellationRequested();
        // The receive is left pending: the close that follows ends it.
        _ = receive.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        return null;
    }

    private async Task<WebSocketReceiveResult> ReceiveWhole(CancellationToken stopping)
    {
        var count = 0;
        while (true)
        {
            if (count == _buffer.Length)
                throw new CloseException(WebSocketCloseStatus.MessageTooBig, $"a message over {live.MaxFrameBytes} bytes (the frame limit, faceswap.live.max-frame-bytes)");
            var result = await socket.ReceiveAsync(_buffer.AsMemory(count), stopping);
            count += result.Count;
            if (result.MessageType == WebSocketMessageType.Close || result.EndOfMessage)
                return new WebSocketReceiveResult(count, result.MessageType, true, socket.CloseStatus, socket.CloseStatusDescription);
        }
    }

    private JsonElement Json(int count)
    {
        try
        {
            using var document = JsonDocument.Parse(_buffer.AsMemory(0, count));
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone()
                : throw new CloseException(WebSocketCloseStatus.InvalidMessageType, "a text message must be a JSON object with a type");
        }
        catch (JsonException)
        {
            throw new CloseException(WebSocketCloseStatus.InvalidMessageType, "a text message that is not JSON");
        }
    }

    private static string Type(JsonElement message) =>
        message.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()! : "(none)";

}
