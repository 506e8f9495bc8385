using FaceSwap.Node;

return await NodeCommands.Run(args);
