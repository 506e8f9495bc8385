using System.Diagnostics;

namespace FaceSwap.Vision.Video;

/// <summary>Runs Debian's ffmpeg and ffprobe; their absence or failure is an error that says which command and why.</summary>
public static class Ffmpeg
{
    public static string Run(string tool, IReadOnlyList<string> arguments, string subject)
    {
        using var process = Start(tool, arguments, redirectInput: false);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new ImageFileException(subject, $"{tool} failed (exit {process.ExitCode}): {error.Result.Trim()}");
        return output.Result;
    }

    public static Process Start(string tool, IReadOnlyList<string> arguments, bool redirectInput)
    {
        var start = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed (Debian package ffmpeg; scripts/setup.sh installs it): {e.Message}", e);
        }
    }
}
