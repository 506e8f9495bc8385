return await FaceSwap.Cli.FscApp.Create().Parse(args).InvokeAsync();
