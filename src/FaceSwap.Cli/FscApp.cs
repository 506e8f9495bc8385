using System.CommandLine;
using FaceSwap.Cli.Commands;

namespace FaceSwap.Cli;

/// <summary>The fsc command tree; tests invoke it in-process.</summary>
public static class FscApp
{
    public static RootCommand Create()
    {
        var root = new RootCommand("fsc: run and steer FaceSwapCluster, a real-time face-swapping service on an Akka.NET cluster. " +
            "'fsc HOST:PORT' opens a prompt on a running node's management API; 'fsc HOST:PORT COMMAND' runs one command there.")
        {
            ModelsCommand.Create(),
            AnalyzeCommand.Create(),
            IdentitiesCommand.Create(),
            SwapCommand.Create(),
            VerifyCommand.Create(),
            AuditCommand.Create(),
            KeysCommand.Create(),
            CertsCommand.Create(),
            DoctorCommand.Create(),
            EvalCommand.Create(),
            DemoCommand.Create(),
            ClusterCommand.Create(),
        };
        Remote.RemotePalette.Attach(root);
        return root;
    }
}
