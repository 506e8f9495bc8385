using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary>The CLI's log: one line per message on stderr, warnings and up (a provider fallback is a warning).</summary>
public static class CliLogging
{
    public static ILoggerFactory Create() =>
        LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
}
