using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FaceSwap.Testing;

namespace FaceSwap.Node.Tests.Browser;

/// <summary>
/// Headless Chromium driven through chromedriver's W3C WebDriver HTTP protocol with <see cref="HttpClient"/> only
/// (no Selenium). Starts <c>chromedriver --port=&lt;free&gt;</c>, opens one session with a fake camera
/// (<c>--use-file-for-fake-video-capture</c>) and media permission granted; disposing ends the session and kills the
/// driver with its browser, also when a test failed half-way.
/// <code>
/// await using var chrome = await ChromeDriver.StartAsync(fakeVideo: y4mPath);
/// await chrome.NavigateAsync(url);
/// var n = await chrome.ExecuteAsync&lt;int&gt;("return window.fsc.framesShown;");
/// var r = await chrome.ExecuteAsyncScriptAsync&lt;string&gt;("const done = arguments[arguments.length - 1]; done('x');");
/// await chrome.ScreenshotAsync(path);
/// </code>
/// </summary>
public sealed class ChromeDriver : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";
    private const string Element = "element-6066-11e4-a52e-4f735466cecf";

    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly StringBuilder _driverLog;
    public string SessionId { get; }
    public Uri DriverAddress { get; }

    private ChromeDriver(Process driver, HttpClient http, string sessionId, StringBuilder driverLog)
    {
        _driver = driver;
        _http = http;
        SessionId = sessionId;
        DriverAddress = http.BaseAddress!;
        _driverLog = driverLog;
    }

    /// <summary>Whether Chromium and chromedriver are installed; <see cref="MissingMessage"/> says how to get them.</summary>
    public static bool Available => Resolve(ChromiumPath, "chromium") is not null && Resolve(ChromedriverPath, "chromedriver") is not null;

    public const string MissingMessage =
        "headless Chromium tests need /usr/bin/chromium and /usr/bin/chromedriver: install Debian chromium chromium-driver (scripts/setup.sh does)";

    /// <summary>
    /// Starts chromedriver and a headless Chromium session. <paramref name="fakeVideo"/>: a .y4m (or .mjpeg) file the fake
    /// camera plays in a loop (see <see cref="FakeCamera"/>); null gives Chromium's built-in test pattern.
    /// <paramref name="extraArgs"/> are added to the browser's command line.
    /// </summary>
    public static async Task<ChromeDriver> StartAsync(string? fakeVideo = null, IEnumerable<string>? extraArgs = null,
        TimeSpan? startTimeout = null, int windowWidth = 1400, int windowHeight = 1000)
    {
        var chromium = Resolve(ChromiumPath, "chromium") ?? throw new InvalidOperationException(MissingMessage);
        var chromedriver = Resolve(ChromedriverPath, "chromedriver") ?? throw new InvalidOperationException(MissingMessage);
        var port = TestPorts.Free();
        var log = new StringBuilder();
        var psi = new ProcessStartInfo(chromedriver)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add($"--port={port}");
        psi.ArgumentList.Add("--allowed-ips=127.0.0.1");
        var driver = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {chromedriver}");
        driver.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        driver.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        driver.BeginOutputReadLine();
        driver.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            var deadline = DateTime.UtcNow + (startTimeout ?? TimeSpan.FromSeconds(20));
            while (true)
            {
                if (driver.HasExited)
                    throw new InvalidOperationException($"chromedriver exited with {driver.ExitCode}: {Snapshot(log)}");
                try
                {
                    using var status = await http.GetAsync("status");
                    if (status.IsSuccessStatusCode)
                    {
                        var body = JsonNode.Parse(await status.Content.ReadAsStringAsync());
                        if (body?["value"]?["ready"]?.GetValue<bool>() == true) break;
                    }
                }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"chromedriver on port {port} did not become ready: {Snapshot(log)}");
                await Task.Delay(50);
            }

            var args = new JsonArray
            {
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required", "--no-first-run", "--no-default-browser-check",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                $"--window-size={windowWidth},{windowHeight}",
            };
            if (fakeVideo is not null) args.Add($"--use-file-for-fake-video-capture={Path.GetFullPath(fakeVideo)}");
            foreach (var a in extraArgs ?? []) args.Add(a);
            var capabilities = new JsonObject
            {
                ["capabilities"] = new JsonObject
                {
                    ["alwaysMatch"] = new JsonObject
                    {
                        ["browserName"] = "chrome",
                        ["goog:chromeOptions"] = new JsonObject { ["binary"] = chromium, ["args"] = args },
                        ["goog:loggingPrefs"] = new JsonObject { ["browser"] = "ALL" },
                    },
                },
            };
            var created = await Send(http, HttpMethod.Post, "session", capabilities);
            var sessionId = (created["value"]?["sessionId"] ?? created["sessionId"])?.GetValue<string>()
                ?? throw new InvalidOperationException($"chromedriver gave no session id: {created.ToJsonString()}");
            return new ChromeDriver(driver, http, sessionId, log);
        }
        catch
        {
            http.Dispose();
            Kill(driver);
            throw;
        }
    }

    /// <summary>What chromedriver printed so far (for failure messages).</summary>
    public string DriverLog => Snapshot(_driverLog);

    public Task NavigateAsync(string url) => Command(HttpMethod.Post, "url", new JsonObject { ["url"] = url });

    public async Task<string> CurrentUrlAsync() => (await Command(HttpMethod.Get, "url"))?.GetValue<string>() ?? "";

    /// <summary>Runs a synchronous script (a function body: <c>return …;</c>); arguments are available as <c>arguments[i]</c>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string script, params object?[] args) =>
        await Command(HttpMethod.Post, "execute/sync", new JsonObject { ["script"] = script, ["args"] = Args(args) });

    public async Task<T> ExecuteAsync<T>(string script, params object?[] args) =>
        Convert<T>(await ExecuteAsync(script, args));

    /// <summary>Runs an asynchronous script: it calls <c>arguments[arguments.length - 1](result)</c> when done.</summary>
    public async Task<JsonNode?> ExecuteAsyncScriptAsync(string script, params object?[] args) =>
        await Command(HttpMethod.Post, "execute/async", new JsonObject { ["script"] = script, ["args"] = Args(args) });

    public async Task<T> ExecuteAsyncScriptAsync<T>(string script, params object?[] args) =>
        Convert<T>(await ExecuteAsyncScriptAsync(script, args));

    /// <summary>Sets the script timeout (execute/async) of the session.</summary>
    public Task SetScriptTimeoutAsync(TimeSpan timeout) =>
        Command(HttpMethod.Post, "timeouts", new JsonObject { ["script"] = (long)timeout.TotalMilliseconds });

    /// <summary>Polls <paramref name="condition"/> (a script returning a truthy value) until it holds or the timeout passes.</summary>
    public async Task<bool> WaitForAsync(string condition, TimeSpan timeout, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var v = await ExecuteAsync($"try {{ return !!({condition}); }} catch (e) {{ return false; }}");
            if (v?.GetValue<bool>() == true) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Finds an element by CSS selector; returns its WebDriver element id.</summary>
    public async Task<string> FindAsync(string css)
    {
        var v = await Command(HttpMethod.Post, "element", new JsonObject { ["using"] = "css selector", ["value"] = css });
        return v?[Element]?.GetValue<string>() ?? throw new InvalidOperationException($"no element {css}: {v?.ToJsonString()}");
    }

    public async Task ClickAsync(string css) => await Command(HttpMethod.Post, $"element/{await FindAsync(css)}/click", new JsonObject());

    public async Task SendKeysAsync(string css, string text) =>
        await Command(HttpMethod.Post, $"element/{await FindAsync(css)}/value", new JsonObject { ["text"] = text });

    public async Task ClearAsync(string css) => await Command(HttpMethod.Post, $"element/{await FindAsync(css)}/clear", new JsonObject());

    /// <summary>Saves a PNG screenshot of the viewport; returns the path.</summary>
    public async Task<string> ScreenshotAsync(string path)
    {
        var b64 = (await Command(HttpMethod.Get, "screenshot"))?.GetValue<string>() ?? throw new InvalidOperationException("no screenshot");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, System.Convert.FromBase64String(b64));
        return path;
    }

    /// <summary>The browser console since the last call (chromedriver's log endpoint); empty where the driver has none.</summary>
    public async Task<IReadOnlyList<(string Level, string Message)>> BrowserLogAsync()
    {
        foreach (var path in new[] { "se/log", "log" })
        {
            try
            {
                var v = await Command(HttpMethod.Post, path, new JsonObject { ["type"] = "browser" });
                if (v is JsonArray entries)
                    return entries.Select(e => (e?["level"]?.GetValue<string>() ?? "", e?["message"]?.GetValue<string>() ?? "")).ToList();
            }
            catch (WebDriverException) { }
        }
        return [];
    }

    private async Task<JsonNode?> Command(HttpMethod method, string path, JsonNode? body = null)
    {
        var reply = await Send(_http, method, $"session/{SessionId}/{path}", body);
        return reply["value"];
    }

    private static async Task<JsonNode> Send(HttpClient http, HttpMethod method, string path, JsonNode? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? reply;
        try { reply = JsonNode.Parse(text); }
        catch (JsonException) { reply = null; }
        if (!response.IsSuccessStatusCode || reply is null)
        {
            var error = reply?["value"]?["error"]?.GetValue<string>() ?? response.StatusCode.ToString();
            var message = reply?["value"]?["message"]?.GetValue<string>() ?? text;
            throw new WebDriverException($"{method} {path}: {error}: {message}", error);
        }
        return reply;
    }

    private static JsonArray Args(object?[] args) => new(args.Select(a => a is null ? null : JsonSerializer.SerializeToNode(a)).ToArray());

    private static T Convert<T>(JsonNode? node) => node is null ? default! : node.Deserialize<T>()!;

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var request = new HttpRequestMessage(HttpMethod.Delete, $"session/{SessionId}");
            using var _ = await _http.SendAsync(request, cts.Token);
        }
        catch (Exception) { /* the driver may be gone already; it is killed below */ }
        _http.Dispose();
        Kill(_driver);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (Exception) { /* already gone */ }
        process.Dispose();
    }

    private static string? Resolve(string preferred, string name)
    {
        if (File.Exists(preferred)) return preferred;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log) return log.Length > 4000 ? log.ToString(log.Length - 4000, 4000) : log.ToString();
    }
}

/// <summary>A WebDriver command that failed: <see cref="Error"/> is the W3C error code (e.g. <c>javascript error</c>).</summary>
public sealed class WebDriverException(string message, string error) : Exception(message)
{
    public string Error { get; } = error;
}
