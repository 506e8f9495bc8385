using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FaceSwap.Contracts;
using FaceSwap.Testing;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// What the fault campaign (bench/FaceSwap.Bench/FaultCampaign.cs) stands on: a node reached through a proxy by the
/// port it advertises (faceswap.node.public-port), the proxy cutting its links, and the proxy telling which process
/// opened a connection.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FaultProxyTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_node_behind_a_proxy_is_known_by_its_public_port_and_a_cut_link_makes_it_unreachable()
    {
        FaultProxy? proxy = null;
        await using var seed = await fixture.Start([Roles.Seed], serializeLocal: false, configure: s =>
        {
            proxy = new FaultProxy(s.Port, (_, _) => null);
            return s with { PublicPort = proxy.Port };
        });
        await using var front = proxy!;
        Assert.Equal($"akka.tcp://faceswap@127.0.0.1:{front.Port}", seed.Address);
        Assert.Equal(seed.Address, seed.Settings.SelfAddress);

        // The other node knows the seed only by the proxy's port: it joins through the proxy.
        await using var edge = await fixture.Start([Roles.Edge], seed.Address, serializeLocal: false);
        await ClusterFixture.AllUp(2, seed, edge);
        Assert.True(front.Connections.Values.Sum() > 0, "no connection came through the proxy");

        front.Cut("*");
        var cut = Stopwatch.StartNew();
        var cluster = Akka.Cluster.Cluster.Get(edge.System);
        await ClusterFixture.Until(() => cluster.State.Unreachable.Any(m => m.Address.ToString() == seed.Address), TimeSpan.FromSeconds(20),
            () => $"the edge still sees the seed reachable {cut.Elapsed.TotalSeconds:F0} s after the cut");
        output.WriteLine($"the edge saw the seed unreachable {cut.Elapsed.TotalSeconds:F1} s after the cut; {front.Dropped} bytes dropped");
        Assert.True(front.Dropped > 0, "nothing was dropped on the cut link");
    }

    [Fact]
    public async Task The_proxy_names_the_process_that_opened_a_connection_from_its_client_port()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serverPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, serverPort);
        using var accepted = await listener.AcceptTcpClientAsync();
        var clientPort = ((IPEndPoint)accepted.Client.RemoteEndPoint!).Port;

        Assert.Equal("this test", LoopbackPeers.Find(clientPort, serverPort, [("another", 1), ("this test", Environment.ProcessId)]));
        Assert.Null(LoopbackPeers.Find(clientPort, serverPort, [("another", 1)]));
        Assert.Null(LoopbackPeers.Find(clientPort, serverPort + 1, [("this test", Environment.ProcessId)]));
    }
}
