using System.Text.Encodings.Web;
using System.Text.Json;

namespace FaceSwap.Governance.Provenance;

/// <summary>
/// The signed provenance file beside an output, <c>&lt;output&gt;.provenance.json</c>: the record, the signature over
/// the record's <see cref="ProvenanceRecord.CanonicalBytes"/>, and which key made it.
/// </summary>
/// <param name="Signature">Base64 of the DER-encoded (RFC 3279) ECDSA signature.</param>
/// <param name="KeyId">The signing key's fingerprint: SHA-256 of its SubjectPublicKeyInfo DER, lower-case hex.</param>
/// <param name="Algorithm">Always <see cref="EcdsaP256Sha256"/>.</param>
public sealed record ProvenanceSidecar(ProvenanceRecord Record, string Signature, string KeyId, string Algorithm)
{
    public const string Suffix = ".provenance.json";

    /// <summary>ECDSA on NIST P-256 over SHA-256 (Ed25519 is not in .NET's cryptography).</summary>
    public const string EcdsaP256Sha256 = "ECDSA-P256-SHA256";

    public static string PathFor(string outputPath) => outputPath + Suffix;

    /// <summary>The sidecar as indented JSON; the record's layout here is not what is signed, its values are.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps base64's '+' and non-ASCII names readable; the file is never embedded in HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("record");
            Record.WriteJson(writer);
            writer.WriteString("signature", Signature);
            writer.WriteString("keyId", KeyId);
            writer.WriteString("algorithm", Algorithm);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <exception cref="FormatException">The text is not JSON, or not a sidecar: what is wrong, and where.</exception>
    public static ProvenanceSidecar Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"The provenance sidecar is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var fields = StrictJson.Properties(document.RootElement, "sidecar", "record", "signature", "keyId", "algorithm");
            return new ProvenanceSidecar(
                ProvenanceRecord.ReadJson(fields["record"]),
                StrictJson.String(fields["signature"], "signature"),
                StrictJson.String(fields["keyId"], "keyId"),
                StrictJson.String(fields["algorithm"], "algorithm"));
        }
    }
}
