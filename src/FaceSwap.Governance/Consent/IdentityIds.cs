using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace FaceSwap.Governance.Consent;

/// <summary>Identity ids: short, URL- and path-safe, and random, so an id says nothing about the person.</summary>
public static partial class IdentityIds
{
    /// <summary>The synthetic average face that the demo builds from the sample photos: nobody's likeness.</summary>
    public const string Average = "average";

    // RFC 4648 base32 in lower case: no padding, no look-alike digits 0, 1, 8, 9.
    const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new random id: "id-" and 10 base32 characters (50 bits).</summary>
    public static string New() => "id-" + string.Create(10, 0, static (chars, _) =>
    {
        for (var i = 0; i < chars.Length; i++)
            chars[i] = Base32[RandomNumberGenerator.GetInt32(Base32.Length)];
    });

    /// <summary>Checks a caller-given id: 1 to 64 of a-z, 0-9, '-' and '_', starting with a letter or digit.</summary>
    /// <exception cref="ArgumentException">The id is not of that form.</exception>
    public static string Validate(string identityId, string paramName = "identityId")
    {
        ArgumentNullException.ThrowIfNull(identityId, paramName);
        if (!Pattern().IsMatch(identityId))
            throw new ArgumentException(
                $"Identity id '{identityId}' is not valid: use 1 to 64 of a-z, 0-9, '-' and '_', starting with a letter or digit.", paramName);
        return identityId;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex Pattern();
}
