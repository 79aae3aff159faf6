using System.Net;
using System.Security.Cryptography;

namespace Stratus.ControlPlane.Tests.Api;

public sealed partial class ControlPlaneApiTests
{
    [Fact]
    public async Task Artifact_OfAVersion_IsItsBytesWithTheirDigest_ForAViewer()
    {
        await PushCreditRiskAsync();
        var bytes = await File.ReadAllBytesAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"));

        using var response = await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk/versions/1/artifact", _viewer);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), Assert.Single(response.Headers.GetValues(Stratus.Core.Api.ArtifactHeaders.Sha256)));
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("api/v1/models/credit-risk/versions/2/artifact", "has no version 2")]
    [InlineData("api/v1/models/fraud/versions/1/artifact", "has no version 1")]
    public async Task Artifact_OfAnUnknownVersion_Is404(string path, string expected)
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Get, path, _viewer);

        var problem = await ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Artifact_WithoutAToken_Is401()
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk/versions/1/artifact", token: null);

        await ProblemAsync(response, HttpStatusCode.Unauthorized);
    }
}
