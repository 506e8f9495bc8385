using System.Net;
using System.Net.Sockets;

namespace FaceSwap.Testing;

/// <summary>Loopback ports for the servers and nodes the tests start.</summary>
public static class TestPorts
{
    /// <summary>A port free right now (the OS picks it); the caller binds it next.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
