using System.Net;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary>Bodies an attacker sends the API: each is the caller's error as problem+json, never a 500, and changes nothing.</summary>
public sealed partial class ControlPlaneApiTests
{
    /// <summary>A body of the bytes the text's characters stand for (so <c>\u00FF</c> is the byte 0xFF, not UTF-8).</summary>
    private static ByteArrayContent RawJsonBody(string text, params string[] encodings)
    {
        var bytes = text.Select(c => (byte)c).ToArray();
        Assert.False(System.Text.Unicode.Utf8.IsValid(bytes) && encodings.Length == 0, "the test's body must not be UTF-8");
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        foreach (var encoding in encodings)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        return content;
    }

    [Theory]
    [InlineData("{\"model\":\"credit-risk\u00FF\",\"version\":1,\"replicas\":1}")]
    [InlineData("{\"model\":\"credit-risk\",\"version\":1,\"replicas\":1,\"\u00C3x\":1}")]
    public async Task PutDeployment_JsonThatIsNotUtf8_Is400AndChangesNothing(string body)
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, RawJsonBody(body));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("UTF-8", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Equal(0, _triggers);
    }

    [Fact]
    public async Task AddSamples_JsonThatIsNotUtf8_Is400AndAddsNothing()
    {
        await PushCreditRiskAsync();
        var sample = """{"id":"?","inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[21,12000,0.415,0.524,4,2,1,6750,60,1.7,0,1.7]}]}""".Replace('?', '\u00FF');

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _deployer, RawJsonBody(sample));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("UTF-8", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await SamplesAsync());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task PutDeployment_EncodedBody_Is415AndChangesNothing(string encoding)
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, RawJsonBody("""{"model":"credit-risk","version":1,"replicas":1}""", encoding));

        var problem = await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains($"Content-Encoding '{encoding}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
    }

    [Fact]
    public async Task PushModel_EncodedBody_Is415AndStoresNothing()
    {
        using var content = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
        content.Headers.ContentEncoding.Add("zstd");

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);

        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Empty(await _services.Models.ListAsync("credit-risk"));
    }

    [Fact]
    public async Task PushModel_DiskFull_Is507AndLeavesNothingHalfWritten()
    {
        // The registry's folder on a 1 MiB tmpfs (mounting needs root): a 2 MiB model cannot fit.
        var models = Path.Combine(_temp.Folder, "models");
        Directory.CreateDirectory(models);
        using var disk = Tmpfs.Mount(models, "1m");
        using var big = new ByteArrayContent(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2 * 1024 * 1024));

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/big", _deployer, big);

        var problem = await ProblemAsync(response, HttpStatusCode.InsufficientStorage);
        Assert.Contains("no space left", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(models, "*", SearchOption.AllDirectories));
        Assert.Empty(await _services.Models.ListAsync());
        Assert.Empty(await AuditActionsAsync());

        // The space the refused push took is free again: a model that fits is stored.
        await PushCreditRiskAsync();
    }

    /// <summary>A tmpfs of the given size mounted over a folder, unmounted when disposed.</summary>
    private sealed class Tmpfs : IDisposable
    {
        private readonly string _path;

        private Tmpfs(string path) => _path = path;

        public static Tmpfs Mount(string path, string size)
        {
            Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
            return new Tmpfs(path);
        }

        public void Dispose() => Run("umount", _path);

        private static void Run(string program, params string[] arguments)
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({error.Trim()}); this test needs root to mount a tmpfs");
        }
    }
}
