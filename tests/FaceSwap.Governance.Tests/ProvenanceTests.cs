using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using FaceSwap.Governance.Provenance;

namespace FaceSwap.Governance.Tests;

public sealed class ProvenanceTests : IDisposable
{
    readonly TestPaths.TempDir _dir = new();
    readonly string _output;
    readonly string _publicPem;
    readonly string _keyId;
    readonly ProvenanceSigner _signer;

    public ProvenanceTests()
    {
        _keyId = ProvenanceKeys.Generate(KeyPath("signing.key"), KeyPath("signing.pub"));
        _publicPem = File.ReadAllText(KeyPath("signing.pub"));
        _signer = ProvenanceSigner.Load(KeyPath("signing.key"));
        _output = Path.Combine(_dir.Path, "swap.mp4");
        File.WriteAllBytes(_output, RandomNumberGenerator.GetBytes(50_000));
    }

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    string KeyPath(string name) => Path.Combine(_dir.Path, name);
    string SidecarPath => ProvenanceSidecar.PathFor(_output);

    ProvenanceRecord RecordFor(string output) => ProvenanceRecord.ForOutput(output, "id-abcdefghij",
        [new ProvenanceModel("inswapper_128", new string('a', 64)), new ProvenanceModel("gfpgan_1.4", new string('b', 64))],
        new Dictionary<string, string> { ["label"] = "on", ["watermark"] = "on", ["blend"] = "0.8" },
        new DateTimeOffset(2026, 3, 1, 12, 30, 15, TimeSpan.Zero).AddTicks(1234567), "node-a", "session-42");

    ProvenanceVerification Verify(ProvenanceVerifier? verifier = null)
    {
        using var own = verifier is null ? new ProvenanceVerifier(_publicPem) : null;
        return (verifier ?? own!).Verify(_output);
    }

    [Fact]
    public void A_signed_output_verifies_with_its_record()
    {
        var record = RecordFor(_output);
        Assert.Equal(SidecarPath, _signer.WriteSidecar(_output, record));
        var result = Verify();
        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(ProvenanceStatus.Valid, result.Status);
        var verified = result.Record!;
        Assert.Equal(record.CanonicalBytes(), verified.CanonicalBytes());
        Assert.Equal(("swap.mp4", 50_000L, "id-abcdefghij", "session-42"), (verified.OutputFileName, verified.OutputSize, verified.SourceIdentityId, verified.SessionId));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_output))), verified.OutputSha256);
        Assert.Equal(record.Models, verified.Models);
        Assert.Equal(record.CreatedAt, verified.CreatedAt);
        Assert.Equal(record.Settings.OrderBy(p => p.Key), verified.Settings.OrderBy(p => p.Key));
    }

    [Fact]
    public void Editing_any_field_of_the_record_fails_verification()
    {
        _signer.WriteSidecar(_output, RecordFor(_output));
        var original = File.ReadAllText(SidecarPath);
        var edits = Edits(JsonNode.Parse(original)!["record"]!.AsObject()).ToList();

        // Every property of the record (and of a model) is among the edits, so a field added later is covered or this fails.
        static string Camel(PropertyInfo property) => char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
        Assert.Equal(typeof(ProvenanceRecord).GetProperties().Select(Camel).Order(),
            edits.Select(edit => edit.Path.Split('.', '[', ' ')[0]).Distinct().Order());
        Assert.Equal(typeof(ProvenanceModel).GetProperties().Select(Camel).Order(),
            edits.Where(edit => edit.Path.StartsWith("models[0].", StringComparison.Ordinal)).Select(edit => edit.Path["models[0].".Length..]).Order());

        var outcomes = new List<string>();
        foreach (var (path, edit) in edits)
        {
            var sidecar = JsonNode.Parse(original)!;
            edit(sidecar["record"]!.AsObject());
            File.WriteAllText(SidecarPath, sidecar.ToJsonString());
            var result = Verify();
            var expected = path == "formatVersion" ? ProvenanceStatus.Unsupported : ProvenanceStatus.BadSignature;
            if (result.Status != expected)
                outcomes.Add($"{path}: {result.Status} ({result.Detail})");
        }
        Assert.True(outcomes.Count == 0, string.Join("\n", outcomes));
        File.WriteAllText(SidecarPath, original);
        Assert.True(Verify().IsValid);  // the untouched sidecar still passes, so the failures above are the edits'
    }

    /// <summary>One edit per leaf of the record, plus models and settings added, removed and reordered.</summary>
    static IEnumerable<(string Path, Action<JsonObject> Apply)> Edits(JsonObject record)
    {
        foreach (var (name, value) in record)
        {
            switch (value)
            {
                case JsonArray models:
                    for (var i = 0; i < models.Count; i++)
                        foreach (var (field, _) in models[i]!.AsObject())
                        {
                            var (index, key) = (i, field);
                            yield return ($"{name}[{index}].{key}", r => r[name]![index]![key] = ChangeString(r[name]![index]![key]!.GetValue<string>()));
                        }
                    yield return ($"{name}[] removed", r => r[name]!.AsArray().RemoveAt(1));
                    yield return ($"{name}[] added", r => r[name]!.AsArray().Add(JsonNode.Parse("""{"name":"extra","sha256":"00"}""")));
                    yield return ($"{name}[] reordered", r =>
                    {
                        var array = r[name]!.AsArray();
                        var first = array[0]!.DeepClone();
                        array.RemoveAt(0);
                        array.Add(first);
                    });
                    break;
                case JsonObject settings:
                    foreach (var (key, _) in settings)
                    {
                        var setting = key;
                        yield return ($"{name}.{setting} value", r => r[name]![setting] = ChangeString(r[name]![setting]!.GetValue<string>()));
                        yield return ($"{name}.{setting} renamed", r =>
                        {
                            var map = r[name]!.AsObject();
                            var old = map[setting]!.GetValue<string>();
                            map.Remove(setting);
                            map[setting + "x"] = old;
                        });
                        yield return ($"{name}.{setting} removed", r => r[name]!.AsObject().Remove(setting));
                    }
                    yield return ($"{name} added", r => r[name]!["label_off"] = "true");
                    break;
                case JsonValue number when number.GetValueKind() == JsonValueKind.Number:
                    yield return (name, r => r[name] = r[name]!.GetValue<long>() + 1);
                    break;
                case JsonValue text when name == "createdAt":
                    yield return (name, r => r[name] = DateTime.Parse(r[name]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal)
                        .AddSeconds(1).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                    break;
                case JsonValue:
                    yield return (name, r => r[name] = ChangeString(r[name]!.GetValue<string>()));
                    break;
            }
        }
    }

    /// <summary>The same string with its first character changed, staying hex if it was hex, so only the value differs.</summary>
    static string ChangeString(string text) => (Uri.IsHexDigit(text[0]) ? (text[0] == '0' ? '1' : '0') : (text[0] == 'x' ? 'y' : 'x')) + text[1..];

    [Fact]
    public void A_signature_by_another_key_fails_even_under_the_trusted_keys_id()
    {
        var otherId = ProvenanceKeys.Generate(KeyPath("other.key"), KeyPath("other.pub"));
        using (var other = ProvenanceSigner.Load(KeyPath("other.key")))
            other.WriteSidecar(_output, RecordFor(_output));
        Assert.Equal(ProvenanceStatus.UnknownKey, Verify().Status);

        var forged = JsonNode.Parse(File.ReadAllText(SidecarPath))!;
        Assert.Equal(otherId, forged["keyId"]!.GetValue<string>());
        forged["keyId"] = _keyId;
        File.WriteAllText(SidecarPath, forged.ToJsonString());
        Assert.Equal(ProvenanceStatus.BadSignature, Verify().Status);

        using var both = new ProvenanceVerifier(_publicPem, File.ReadAllText(KeyPath("other.pub")));
        forged["keyId"] = otherId;
        File.WriteAllText(SidecarPath, forged.ToJsonString());
        Assert.True(Verify(both).IsValid);  // a rotated key verifies once it is pinned
    }

    [Fact]
    public void A_changed_output_fails_even_with_the_same_size()
    {
        _signer.WriteSidecar(_output, RecordFor(_output));
        var bytes = File.ReadAllBytes(_output);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(_output, bytes);
        var flipped = Verify();
        Assert.Equal(ProvenanceStatus.OutputMismatch, flipped.Status);
        Assert.Contains("SHA-256", flipped.Detail);

        File.AppendAllText(_output, "x");
        var longer = Verify();
        Assert.Equal(ProvenanceStatus.OutputMismatch, longer.Status);
        Assert.Contains("50001 bytes", longer.Detail);
    }

    [Fact]
    public void An_output_renamed_with_its_sidecar_fails()
    {
        _signer.WriteSidecar(_output, RecordFor(_output));
        var renamed = Path.Combine(_dir.Path, "holiday.mp4");
        File.Move(_output, renamed);
        File.Move(SidecarPath, ProvenanceSidecar.PathFor(renamed));
        using var verifier = new ProvenanceVerifier(_publicPem);
        var result = verifier.Verify(renamed);
        Assert.Equal(ProvenanceStatus.OutputMismatch, result.Status);
        Assert.Contains("swap.mp4", result.Detail);
    }

    [Fact]
    public void Missing_and_malformed_sidecars_say_so()
    {
        Assert.Equal(ProvenanceStatus.NoSidecar, Verify().Status);

        _signer.WriteSidecar(_output, RecordFor(_output));
        var valid = File.ReadAllText(SidecarPath);
        (string Case, string Json, ProvenanceStatus Expected)[] cases =
        [
            ("truncated", valid[..(valid.Length / 2)], ProvenanceStatus.Malformed),
            ("not an object", "[]", ProvenanceStatus.Malformed),
            ("extra top-level field", With(valid, n => n["comment"] = "hi"), ProvenanceStatus.Malformed),
            ("extra record field", With(valid, n => n["record"]!["licence"] = "cc0"), ProvenanceStatus.Malformed),
            ("missing record field", With(valid, n => n["record"]!.AsObject().Remove("node")), ProvenanceStatus.Malformed),
            ("size as text", With(valid, n => n["record"]!["outputSize"] = "50000"), ProvenanceStatus.Malformed),
            ("time with an offset", With(valid, n => n["record"]!["createdAt"] = "2026-03-01T13:30:15.1234567+01:00"), ProvenanceStatus.Malformed),
            ("duplicate setting", valid.Replace("\"label\": \"on\"", "\"label\": \"on\", \"label\": \"off\""), ProvenanceStatus.Malformed),
            ("signature not base64", With(valid, n => n["signature"] = "not base64!"), ProvenanceStatus.Malformed),
            ("other algorithm", With(valid, n => n["algorithm"] = "Ed25519"), ProvenanceStatus.Unsupported),
        ];
        foreach (var (name, json, expected) in cases)
        {
            File.WriteAllText(SidecarPath, json);
            var result = Verify();
            Assert.True(result.Status == expected, $"{name}: {result.Status}, expected {expected} ({result.Detail})");
        }

        File.Delete(_output);
        Assert.Equal(ProvenanceStatus.OutputMissing, Verify().Status);
    }

    static string With(string json, Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(json)!;
        edit(node);
        return node.ToJsonString();
    }

    [Fact]
    public void The_canonical_form_is_fixed_whatever_the_settings_order_or_time_offset()
    {
        var models = new[] { new ProvenanceModel("m", "00ff") };
        var created = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var a = new ProvenanceRecord(1, "out.png", "ab", 7, "average", models,
            new Dictionary<string, string> { ["b"] = "2", ["a"] = "1", ["é"] = "ü" }, created, "n", "s");
        var b = a with
        {
            Settings = new Dictionary<string, string> { ["é"] = "ü", ["a"] = "1", ["b"] = "2" },
            CreatedAt = created.ToOffset(TimeSpan.FromHours(-5)),
        };
        Assert.Equal(a.CanonicalBytes(), b.CanonicalBytes());
        Assert.Equal(
            """{"formatVersion":1,"outputFileName":"out.png","outputSha256":"ab","outputSize":7,"sourceIdentityId":"average","models":[{"name":"m","sha256":"00ff"}],"settings":{"a":"1","b":"2","\u00E9":"\u00FC"},"createdAt":"2026-03-01T12:00:00.0000000Z","node":"n","sessionId":"s"}""",
            System.Text.Encoding.UTF8.GetString(a.CanonicalBytes()));
    }

    [Fact]
    public void Generated_keys_are_pem_with_a_private_file_only_its_owner_can_read()
    {
        var privateText = File.ReadAllText(KeyPath("signing.key"));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", privateText);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", _publicPem);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath("signing.key")));

        var spki = PemEncoding.Find(_publicPem);
        var der = Convert.FromBase64String(_publicPem[spki.Base64Data]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(der)), _keyId);
        Assert.Equal(_keyId, _signer.KeyId);
        using var verifier = new ProvenanceVerifier(_publicPem);
        Assert.Equal([_keyId], verifier.TrustedKeyIds);
    }

    [Fact]
    public void Keys_are_never_overwritten_and_an_exposed_private_key_is_refused()
    {
        var before = File.ReadAllText(KeyPath("signing.key"));
        Assert.Throws<IOException>(() => ProvenanceKeys.Generate(KeyPath("signing.key"), KeyPath("fresh.pub")));
        Assert.Throws<IOException>(() => ProvenanceKeys.Generate(KeyPath("fresh.key"), KeyPath("signing.pub")));
        Assert.Equal(before, File.ReadAllText(KeyPath("signing.key")));
        Assert.False(File.Exists(KeyPath("fresh.key")));

        if (OperatingSystem.IsWindows())
            return;
        File.Copy(KeyPath("signing.pub"), KeyPath("public-only.key"));
        File.SetUnixFileMode(KeyPath("public-only.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("public key only", Assert.Throws<CryptographicException>(() => ProvenanceSigner.Load(KeyPath("public-only.key"))).Message);
        File.SetUnixFileMode(KeyPath("signing.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var error = Assert.Throws<UnauthorizedAccessException>(() => ProvenanceSigner.Load(KeyPath("signing.key")));
        Assert.Contains("chmod 600", error.Message);
    }

    [Fact]
    public void A_key_on_another_curve_is_refused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<CryptographicException>(() => new ProvenanceVerifier(p384.ExportSubjectPublicKeyInfoPem()));
    }
}
