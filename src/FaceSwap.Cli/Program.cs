using System.CommandLine;
using FaceSwap.Cli.Commands;

var root = new RootCommand("fsc: run and steer FaceSwapCluster, a real-time face-swapping service on an Akka.NET cluster.")
{
    ModelsCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
