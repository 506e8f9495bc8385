using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FaceSwap.Testing;

/// <summary>
/// A TCP front for one node's remoting port, for fault injection on loopback: the node advertises the proxy's port
/// (<c>faceswap.node.public-port</c>), so every connection to it comes through here, and the proxy learns which process
/// opened each one (<see cref="LoopbackPeers"/>). A cut link to a peer drops its bytes both ways, as a cut cable loses
/// packets: nothing is refused or reset, heartbeats just stop arriving; a connection the peer opens during the cut is
/// held the same way. Healing closes the cut connections (their byte streams lost data mid-message, as TCP would have
/// given up on them) and lets new ones through.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    /// <summary>One connection through the proxy, from a named peer (null: not one of the known processes).</summary>
    private sealed class Link(string? peer, TcpClient client, TcpClient server)
    {
        public string? Peer { get; } = peer;
        public TcpClient Client { get; } = client;
        public TcpClient Server { get; } = server;
        public volatile bool Cut;
        public long Dropped;

        public void Close()
        {
            Client.Close();
            Server.Close();
        }
    }

    private readonly TcpListener _listener;
    private readonly int _target;
    private readonly Func<int, int, string?> _peerOf;
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly ConcurrentDictionary<string, byte> _cut = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _dropped;

    /// <param name="target">the node's bound remoting port on 127.0.0.1</param>
    /// <param name="peerOf">the name of the process that opened a connection, from its client port and the proxy's port; null when unknown</param>
    /// <param name="port">the port to listen on (0: any free one)</param>
    public FaultProxy(int target, Func<int, int, string?> peerOf, int port = 0)
    {
        _target = target;
        _peerOf = peerOf;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Accept();
    }

    /// <summary>The port the node advertises.</summary>
    public int Port { get; }

    /// <summary>Bytes dropped on cut links so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Open connections, by peer ("?" when unknown).</summary>
    public IReadOnlyDictionary<string, int> Connections =>
        _links.Keys.GroupBy(l => l.Peer ?? "?").ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Cuts every link from <paramref name="peer"/> (a name <c>peerOf</c> gives; "*" cuts every peer, known or not).</summary>
    public void Cut(string peer)
    {
        _cut[peer] = 0;
        foreach (var link in _links.Keys.Where(l => IsCut(l.Peer))) link.Cut = true;
    }

    /// <summary>Ends the cut: the cut connections are closed, new ones go through.</summary>
    public void Heal(string peer)
    {
        _cut.TryRemove(peer, out _);
        foreach (var link in _links.Keys.Where(l => l.Cut && !IsCut(l.Peer))) link.Close();
    }

    private bool IsCut(string? peer) => _cut.ContainsKey("*") || (peer is not null && _cut.ContainsKey(peer));

    private async Task Accept()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return; // stopped
            }
            _ = Serve(client);
        }
    }

    private async Task Serve(TcpClient client)
    {
        var server = new TcpClient();
        try
        {
            client.NoDelay = server.NoDelay = true;
            var peer = _peerOf(((IPEndPoint)client.Client.RemoteEndPoint!).Port, Port);
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var link = new Link(peer, client, server) { Cut = IsCut(peer) };
            _links[link] = 0;
            try
            {
                await Task.WhenAll(Pump(link, client, server), Pump(link, server, client));
            }
            finally
            {
                _links.TryRemove(link, out _);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The node behind is down or the proxy stops: the client sees its connection closed, as it would without a proxy.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task Pump(Link link, TcpClient from, TcpClient to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (true)
            {
                var read = await input.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                if (link.Cut)
                {
                    Interlocked.Add(ref link.Dropped, read);
                    Interlocked.Add(ref _dropped, read);
                    continue;
                }
                await output.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Either side closed (or heal closed a cut link): close the other too.
        }
        link.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        foreach (var link in _links.Keys) link.Close();
        _stop.Dispose();
    }
}

/// <summary>
/// Which local process holds the client end of a loopback TCP connection (Linux: <c>/proc/net/tcp*</c> gives the
/// socket's inode, <c>/proc/PID/fd</c> who holds it). Only the candidate processes are searched.
/// </summary>
public static class LoopbackPeers
{
    /// <summary>The name of the candidate holding a socket whose local port is <paramref name="clientPort"/> and remote port <paramref name="serverPort"/>; null if none does.</summary>
    public static string? Find(int clientPort, int serverPort, IEnumerable<(string Name, int Pid)> candidates)
    {
        var inode = Inode(clientPort, serverPort);
        if (inode is null) return null;
        var target = $"socket:[{inode}]";
        foreach (var (name, pid) in candidates)
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                    if (new FileInfo(fd).LinkTarget == target) return name;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // That process exited meanwhile (or is not ours to read): not the peer.
            }
        }
        return null;
    }

    private static string? Inode(int clientPort, int serverPort)
    {
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10) continue;
                if (Port(fields[1]) == clientPort && Port(fields[2]) == serverPort) return fields[9];
            }
        }
        return null;
    }

    private static int Port(string endpoint) => int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
