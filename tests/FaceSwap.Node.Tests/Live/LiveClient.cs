using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Node.Tests.Live;

/// <summary>One output frame as a page gets it (docs/live.md): the header's fields and the JPEG.</summary>
public sealed record ReceivedFrame(double ClientTime, long Seq, bool FailMode, float AgeMs, byte[] Jpeg, double ReceivedAtMs);

/// <summary>
/// A WebSocket client that speaks the live protocol as the page does, for tests: start, frames up (8-byte capture
/// time + JPEG), output frames and JSON messages collected as they come, settings, stop; and the ways a bad client
/// misbehaves. The capture time sent is this client's stopwatch in ms, so latency is received − sent.
/// </summary>
public sealed class LiveClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _reader;

    public ConcurrentQueue<ReceivedFrame> Frames { get; } = new();
    /// <summary>Keep every received frame in <see cref="Frames"/> (tests read them back); a long run (the soak) counts them only.</summary>
    public bool KeepFrames { get; init; } = true;
    /// <summary>Called with each received frame as it comes (its JPEG empty unless <see cref="KeepFrames"/>): a long run's timeline.</summary>
    public Action<ReceivedFrame>? OnFrame { get; init; }
    private long _received;
    public long FramesReceived => Interlocked.Read(ref _received);
    public ConcurrentQueue<JsonElement> Messages { get; } = new();
    public TaskCompletionSource<(WebSocketCloseStatus? Status, string? Reason)> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public double NowMs => _clock.Elapsed.TotalMilliseconds;
    public WebSocketState State => _socket.State;

    public static async Task<LiveClient> Connect(string httpAddress, bool keepFrames = true, Action<ReceivedFrame>? onFrame = null)
    {
        var client = new LiveClient { KeepFrames = keepFrames, OnFrame = onFrame };
        await client._socket.ConnectAsync(new Uri(httpAddress.Replace("http://", "ws://").TrimEnd('/') + "/live/ws"), CancellationToken.None);
        client._reader = Task.Run(client.Read);
        return client;
    }

    /// <summary>Sends start and waits for the started (or error) answer.</summary>
    public async Task<JsonElement> Start(string? token, string identity, double fps, object? settings = null)
    {
        await SendText(new { type = "start", token, identity, fps, settings });
        return await Next(m => m.GetProperty("type").GetString() is "started" or "error", TimeSpan.FromSeconds(60));
    }

    public Task SendText(object message) => Send(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message)), WebSocketMessageType.Text);

    /// <summary>Sends one frame stamped with this client's clock; the stamp.</summary>
    public async Task<double> SendFrame(byte[] jpeg)
    {
        var message = new byte[8 + jpeg.Length];
        var now = NowMs;
        BinaryPrimitives.WriteDoubleLittleEndian(message, now);
        jpeg.CopyTo(message, 8);
        await Send(message, WebSocketMessageType.Binary);
        return now;
    }

    public async Task Send(byte[] message, WebSocketMessageType type, bool endOfMessage = true)
    {
        await _send.WaitAsync();
        try
        {
            await _socket.SendAsync(message, type, endOfMessage, CancellationToken.None);
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>The first message (already received or still to come) that matches.</summary>
    public async Task<JsonElement> Next(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var seen = 0;
        while (deadline.Elapsed < timeout)
        {
            var messages = Messages.ToArray();
            for (; seen < messages.Length; seen++)
                if (match(messages[seen])) return messages[seen];
            if (Closed.Task.IsCompleted && seen == Messages.Count)
                throw new InvalidOperationException($"the socket closed ({Closed.Task.Result.Status} {Closed.Task.Result.Reason}) before the message came");
            await Task.Delay(20);
        }
        throw new TimeoutException($"no matching message within {timeout}; got: {string.Join(" | ", Messages.Select(m => m.GetRawText()[..Math.Min(200, m.GetRawText().Length)]))}");
    }

    /// <summary>Drops the connection without a close, as a vanished client does.</summary>
    public void Abort() => _socket.Abort();

    public async Task Stop()
    {
        await SendText(new { type = "stop" });
        await Closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task Read()
    {
        var buffer = new byte[4 * 1024 * 1024];
        try
        {
            while (true)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Closed.TrySetResult((_socket.CloseStatus, _socket.CloseStatusDescription));
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                if (result.MessageType == WebSocketMessageType.Text)
                    Messages.Enqueue(JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone());
                else if (Interlocked.Increment(ref _received) > 0 && (KeepFrames || OnFrame is not null))
                {
                    var frame = new ReceivedFrame(BinaryPrimitives.ReadDoubleLittleEndian(buffer), BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(8)),
                        (BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(16)) & 1) != 0, BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(20)),
                        KeepFrames ? buffer.AsSpan(32, count - 32).ToArray() : [], NowMs);
                    if (KeepFrames) Frames.Enqueue(frame);
                    OnFrame?.Invoke(frame);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            Closed.TrySetResult((_socket.CloseStatus, $"connection lost: {e.Message}"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "test done", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The server is gone already.
            }
        }
        _socket.Abort();
        if (_reader is not null) await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _socket.Dispose();
    }
}
