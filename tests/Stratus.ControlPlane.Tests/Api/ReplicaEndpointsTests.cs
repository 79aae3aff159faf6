using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary><c>GET /api/v1/replicas/{id}/logs</c>: what a replica wrote, from the cloud that runs it.</summary>
public sealed partial class ControlPlaneApiTests
{
    private async Task<ReplicaHandle> LaunchInMemoryAsync(string id)
    {
        var model = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(model)));
        return await _memory.LaunchAsync(new ReplicaLaunch(id, "credit-risk", "1", model, sha256, "cpu-small") { ServedName = "risk" });
    }

    [Fact]
    public async Task ReplicaLogs_OfARecordedReplicaAndOfOneWithNoRecord_AreTheirLastLinesFromTheirCloud()
    {
        var recorded = await LaunchInMemoryAsync("risk-1");
        await _services.Deployments.PutReplicaAsync(new ReplicaRecord("risk-1", "risk", "memory-test", "cpu-small", ReplicaState.Ready, null, recorded.Endpoint));
        var stray = await LaunchInMemoryAsync("stray-1");

        using var response = await SendAsync(HttpMethod.Get, "api/v1/replicas/risk-1/logs?lines=50", _viewer);
        using var last = await SendAsync(HttpMethod.Get, "api/v1/replicas/risk-1/logs?lines=1", _viewer);
        using var unrecorded = await SendAsync(HttpMethod.Get, "api/v1/replicas/stray-1/logs", _viewer);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var logs = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("risk-1", "memory-test"), (logs.GetProperty("replica").GetString(), logs.GetProperty("cloud").GetString()));
        var lines = logs.GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Contains($"ready at {recorded.Endpoint}", lines);
        Assert.Contains(lines, l => l.Contains("risk", StringComparison.Ordinal));
        Assert.Equal([lines[^1]], (await last.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("lines").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(HttpStatusCode.OK, unrecorded.StatusCode);
        Assert.Contains($"ready at {stray.Endpoint}", (await unrecorded.Content.ReadAsStringAsync()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplicaLogs_OfAReplicaNoCloudKnows_Is404()
    {
        await _services.Deployments.PutReplicaAsync(new ReplicaRecord("risk-gone", "risk", "memory-test", "cpu-small", ReplicaState.Failed, "container exited with code 1", null));

        using var unrecorded = await SendAsync(HttpMethod.Get, "api/v1/replicas/ghost/logs", _viewer);
        using var gone = await SendAsync(HttpMethod.Get, "api/v1/replicas/risk-gone/logs", _viewer);

        Assert.Contains("no cloud knows replica 'ghost'", (await ProblemAsync(unrecorded, HttpStatusCode.NotFound)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(gone, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("-5")]
    public async Task ReplicaLogs_LinesOutOfBounds_Is400(string lines)
    {
        await LaunchInMemoryAsync("risk-1");

        using var response = await SendAsync(HttpMethod.Get, $"api/v1/replicas/risk-1/logs?lines={lines}", _viewer);

        Assert.Contains("'lines' must be from 1 to 10000", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplicaLogs_WithoutAToken_Is401()
    {
        await LaunchInMemoryAsync("risk-1");

        using var response = await SendAsync(HttpMethod.Get, "api/v1/replicas/risk-1/logs", null);

        await ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ReplicaLogs_WhileItsCloudDoesNotAnswer_Is503NamingWhy()
    {
        await LaunchInMemoryAsync("risk-1");
        _memoryState.Unreachable = true;

        using var response = await SendAsync(HttpMethod.Get, "api/v1/replicas/risk-1/logs", _viewer);

        Assert.Contains("unreachable", (await ProblemAsync(response, HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
