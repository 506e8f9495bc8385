using FaceSwap.Cli;
using FaceSwap.Cli.Remote;

// fsc HOST:PORT [COMMAND...]: the operator's palette bound to one node, as pbm's.
if (args.Length > 0 && Prompt.IsHost(args[0]))
    return args.Length == 1
        ? await Prompt.Run(args[0], words => FscApp.Create().Parse(words).InvokeAsync())
        : await FscApp.Create().Parse(Prompt.Rewrite(args)).InvokeAsync();
return await FscApp.Create().Parse(args).InvokeAsync();
