using FaceSwap.Cli.LocalCluster;

namespace FaceSwap.Cli.Tests;

/// <summary>How <c>fsc cluster local</c> starts each node: as ./faceswap-node and the images do.</summary>
public sealed class LocalNodeProcessTests
{
    [Fact]
    public void A_local_node_runs_with_two_glibc_malloc_arenas_unless_the_caller_set_its_own()
    {
        var start = NodeProcess.StartInfo("worker-1", "faceswap-node.dll", ["run", "--roles", "gpu-worker"], core: null);
        // ProcessStartInfo starts from this process's environment: a cap the caller set is kept.
        var expected = Environment.GetEnvironmentVariable(NodeProcess.MallocArenaMax) ?? NodeProcess.DefaultMallocArenaMax;
        Assert.Equal(expected, start.Environment[NodeProcess.MallocArenaMax]);
        Assert.Equal("worker-1", start.Environment["FSC_NODE_NAME"]);
        Assert.Equal(["faceswap-node.dll", "run", "--roles", "gpu-worker"], start.ArgumentList);
    }
}
