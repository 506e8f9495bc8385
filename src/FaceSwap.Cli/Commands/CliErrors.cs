using System.Data.Common;
using System.Security.Cryptography;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.TfJs;
using FaceSwap.Vision;

namespace FaceSwap.Cli.Commands;

/// <summary>Turns the errors a user can act on into one clear line and exit code 1; anything else keeps its stack trace.</summary>
public static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (Actionable(e))
        {
            Console.Error.WriteLine($"fsc: error: {e.Message}");
            return 1;
        }
    }

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (Actionable(e))
        {
            Console.Error.WriteLine($"fsc: error: {e.Message}");
            return 1;
        }
    }

    private static bool Actionable(Exception e) => e is TfjsModelException or ModelStoreException or ImageFileException or IOException
        or UnauthorizedAccessException or ArgumentException or ConsentException or CryptographicException or DbException
        or LocalCluster.LocalClusterException or TimeoutException;
}
