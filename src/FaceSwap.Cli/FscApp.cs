using System.CommandLine;
using FaceSwap.Cli.Commands;

namespace FaceSwap.Cli;

/// <summary>The fsc command tree; tests invoke it in-process.</summary>
public static class FscApp
{
    public static RootCommand Create() =>
        new("fsc: run and steer FaceSwapCluster, a real-time face-swapping service on an Akka.NET cluster.")
        {
            ModelsCommand.Create(),
            AnalyzeCommand.Create(),
            IdentitiesCommand.Create(),
            SwapCommand.Create(),
            VerifyCommand.Create(),
            AuditCommand.Create(),
            KeysCommand.Create(),
            DoctorCommand.Create(),
            EvalCommand.Create(),
            DemoCommand.Create(),
            ClusterCommand.Create(),
        };
}
