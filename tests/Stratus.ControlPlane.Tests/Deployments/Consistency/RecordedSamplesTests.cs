using System.Text;
using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Core.Deployments;
using Stratus.Core.Models;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Deployments.Consistency;

/// <summary>Live requests gateways hand over, kept as samples in a real registry, deployment store and audit log.</summary>
public sealed class RecordedSamplesTests : IAsyncLifetime
{
    private TempDatabase _temp = null!;
    private ModelRegistry _registry = null!;
    private SqliteDeploymentStore _deployments = null!;
    private SqliteAuditLog _audit = null!;
    private RecordedSamples _sink = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        _registry = new ModelRegistry(_temp.Database, new DirectoryBlobStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System);
        _deployments = new SqliteDeploymentStore(_temp.Database, TimeProvider.System);
        _audit = new SqliteAuditLog(_temp.Database, TimeProvider.System);
        _sink = new RecordedSamples(_deployments, _registry, _audit);
    }

    public async Task DisposeAsync() => await _temp.DisposeAsync();

    private async Task<ModelVersion> PushAsync(params string[] samples)
    {
        await using var stream = File.OpenRead(RepositoryFiles.Model("credit-risk.onnx"));
        return await _registry.PushAsync("credit-risk", stream, "admin", samples);
    }

    private ValueTask RecordAsync(string deployment, int version, string body) =>
        _sink.RecordAsync(deployment, version, Encoding.UTF8.GetBytes(body), CancellationToken.None);

    [Fact]
    public async Task Record_ForADeploymentThatOptedIn_KeepsUpToItsLimitPerVersionAndAuditsEach()
    {
        var version = await PushAsync();
        await _deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 2 });

        for (var age = 30; age < 34; age++)
        {
            await RecordAsync("risk", 1, CreditRiskSamples.Fitting(age));
        }

        var samples = await _registry.ListSamplesAsync(version);
        Assert.Equal([("gateway", CreditRiskSamples.Fitting(30)), ("gateway", CreditRiskSamples.Fitting(31))], samples.Select(s => (s.Source, s.Body)));
        var entries = await _audit.ListAsync();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal(("gateway", "model.samples", "credit-risk/1"), (e.Actor, e.Action, e.Target)));
        Assert.All(entries, e => Assert.Contains("\"deployment\":\"risk\"", e.After, StringComparison.Ordinal));

        // Recorded samples are the version's probe set from now on.
        var probes = await ProbeSets.ForAsync(_registry, (await _registry.GetAsync("credit-risk", 1))!, CancellationToken.None);
        Assert.Equal([Probe.SampleKind, Probe.SampleKind], probes.Select(p => p.Kind));
    }

    [Fact]
    public async Task Record_ForADeploymentThatDidNotOptIn_KeepsNothing()
    {
        var version = await PushAsync();
        await _deployments.PutAsync(new Deployment("quiet", "credit-risk", 1, 1, "cpu-small"));

        await RecordAsync("quiet", 1, CreditRiskSamples.Fitting(30));
        await RecordAsync("unknown", 1, CreditRiskSamples.Fitting(31));

        Assert.Empty(await _registry.ListSamplesAsync(version));
        Assert.Empty(await _audit.ListAsync());
    }

    [Fact]
    public async Task Record_PerVersion_OneDeploymentsLimitDoesNotSpillOver()
    {
        var first = await PushAsync();
        var second = await PushAsync();
        await _deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 1 });

        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(30));
        await RecordAsync("risk", 2, CreditRiskSamples.Fitting(31));
        await RecordAsync("risk", 2, CreditRiskSamples.Fitting(32));
        await RecordAsync("risk", 3, CreditRiskSamples.Fitting(33));

        Assert.Equal([CreditRiskSamples.Fitting(30)], (await _registry.ListSamplesAsync(first)).Select(s => s.Body));
        Assert.Equal([CreditRiskSamples.Fitting(31)], (await _registry.ListSamplesAsync(second)).Select(s => s.Body));
        Assert.Equal(["credit-risk/1", "credit-risk/2"], (await _audit.ListAsync()).Select(e => e.Target));
    }

    [Fact]
    public async Task Record_ABodyThatDoesNotFitOrIsNotJson_IsNotKept()
    {
        var version = await PushAsync();
        await _deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 2 });

        await RecordAsync("risk", 1, CreditRiskSamples.Int64Features);
        await RecordAsync("risk", 1, """{"inputs":[{"name":"features""");
        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(30));

        Assert.Equal([CreditRiskSamples.Fitting(30)], (await _registry.ListSamplesAsync(version)).Select(s => s.Body));
        Assert.Single(await _audit.ListAsync());
    }

    [Fact]
    public async Task Record_TheSameRequestTwice_KeepsAndAuditsItOnce()
    {
        var version = await PushAsync();
        await _deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 4 });

        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(30));
        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(30));

        Assert.Single(await _registry.ListSamplesAsync(version));
        Assert.Single(await _audit.ListAsync());
    }

    [Fact]
    public async Task Record_SamplesFromElsewhere_DoNotCountAgainstTheRecordingLimit()
    {
        var version = await PushAsync(CreditRiskSamples.Fitting(20), CreditRiskSamples.Fitting(21));
        await _deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 1 });

        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(30));
        await RecordAsync("risk", 1, CreditRiskSamples.Fitting(31));

        Assert.Equal(["push", "push", "gateway"], (await _registry.ListSamplesAsync(version)).Select(s => s.Source));
    }
}
