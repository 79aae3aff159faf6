using System.Net.Http.Headers;
using System.Text;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>Bodies an attacker sends a real replica: each is the caller's error (4xx with a v2 error), never a 500.</summary>
public sealed class HostileBodyTests : IAsyncLifetime
{
    private readonly CreditRiskFixture _fixture = CreditRiskFixture.Load();
    private TestReplica _replica = null!;

    public async Task InitializeAsync() => _replica = await TestReplica.StartAsync(TestModels.CreditRisk, "credit-risk");

    public async Task DisposeAsync() => await _replica.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(byte[] body, params string[] encodings)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var encoding in encodings)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        return _replica.Client.PostAsync("v2/models/credit-risk/infer", content);
    }

    [Theory]
    [InlineData("\"id\"", "\"id\":\"\u00FF\u00FE\",\"x\"")]
    [InlineData("\"features\"", "\"feat\u00C3ures\"")]
    public async Task Infer_JsonThatIsNotUtf8_Is400(string find, string replacement)
    {
        var text = _fixture.Request(0, 1, id: "r1").Replace(find, replacement, StringComparison.Ordinal);
        var body = text.Select(c => (byte)c).ToArray();
        Assert.False(System.Text.Unicode.Utf8.IsValid(body));

        using var response = await PostAsync(body);

        Assert.Contains("not valid UTF-8", await TestReplica.ReadErrorAsync(response, 400), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public async Task Infer_BodyNotOfItsContentEncoding_Is400(string encoding)
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes(_fixture.Request(0, 1)), encoding);

        Assert.Contains($"not valid {encoding} data", await TestReplica.ReadErrorAsync(response, 400), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("compress")]
    [InlineData("gzip", "br")]
    public async Task Infer_ContentEncodingNotDecoded_Is415NotReadAsIdentity(params string[] encodings)
    {
        // A plain JSON body: read as identity it would be served.
        using var response = await PostAsync(Encoding.UTF8.GetBytes(_fixture.Request(0, 1)), encodings);

        Assert.Contains("is not supported", await TestReplica.ReadErrorAsync(response, 415), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_IdentityContentEncoding_IsServed()
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes(_fixture.Request(3, 1)), "identity");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal([_fixture.Labels[3]], System.Text.Json.JsonDocument.Parse(text).RootElement.Output("label").Longs());
    }
}
