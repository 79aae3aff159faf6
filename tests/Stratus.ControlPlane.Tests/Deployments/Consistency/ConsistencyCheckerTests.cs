using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Models;
using Stratus.Inference.Server;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Deployments.Consistency;

/// <summary>
/// The consistency check against real replicas started in this process (Kestrel on port 0) serving the repository's
/// and third parties' models, with references in a real SQLite file. A "restarted control plane" is a new checker
/// over a new store on a newly opened handle of the same file.
/// </summary>
public sealed class ConsistencyCheckerTests : IAsyncLifetime
{
    private const string Served = "risk";
    private readonly List<ReplicaHost> _replicas = [];
    private readonly List<ConsistencyChecker> _checkers = [];
    private TempDatabase _temp = null!;
    private ModelRegistry _registry = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        _registry = new ModelRegistry(_temp.Database, new DirectoryBlobStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        foreach (var checker in _checkers)
        {
            checker.Dispose();
        }

        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        await _temp.DisposeAsync();
    }

    private async Task<ModelVersion> PushAsync(string name, string path, params string[] samples)
    {
        await using var stream = File.OpenRead(path);
        return await _registry.PushAsync(name, stream, "admin", samples);
    }

    private async Task<ReplicaHost> StartAsync(string modelPath, string? faultFile = null)
    {
        var replica = ReplicaHost.Create(new ReplicaOptions { ModelPath = modelPath, ModelName = Served, ModelVersion = "1", Port = 0, FaultFile = faultFile }, _ => { });
        _replicas.Add(replica);
        await replica.StartAsync();
        await replica.ModelLoaded;
        return replica;
    }

    /// <summary>A checker over its own store; <paramref name="restarted"/> opens the database file afresh, as a restarted control plane does.</summary>
    private async Task<ConsistencyChecker> CheckerAsync(bool restarted = false)
    {
        var database = restarted ? await SqliteDatabase.OpenAsync(_temp.Database.Path) : _temp.Database;
        var checker = new ConsistencyChecker(new SqliteProbeReferenceStore(database, TimeProvider.System));
        _checkers.Add(checker);
        return checker;
    }

    private async Task<ConsistencyResult> CheckAsync(ConsistencyChecker checker, ModelVersion version, ReplicaHost replica, string replicaId) =>
        await checker.CheckAsync(version, await ProbeSets.ForAsync(_registry, version, CancellationToken.None), Served, replica.Address, replicaId, CancellationToken.None);

    private Task<IReadOnlyDictionary<string, ProbeReference>> ReferencesAsync(ModelVersion version) =>
        new SqliteProbeReferenceStore(_temp.Database, TimeProvider.System).ListAsync(version.Sha256);

    [Fact]
    public async Task Check_ModelThatRefusesEverySyntheticProbe_PassesUncheckedAndSaysSo()
    {
        var version = await PushAsync("vad", ThirdPartyModels.SileroVadV5.Path);

        var result = await CheckAsync(await CheckerAsync(), version, await StartAsync(ThirdPartyModels.SileroVadV5.Path), "vad-1");

        Assert.Null(result.Failure);
        Assert.False(result.Checked);
        Assert.Equal((0, 4), (result.Usable, result.Total));
        Assert.StartsWith("no usable probe set; consistency not checked", result.Note, StringComparison.Ordinal);
        Assert.Contains("the model refused all 4 synthetic probes", result.Note, StringComparison.Ordinal);
        Assert.Contains("stratus model push --sample", result.Note, StringComparison.Ordinal);
        var references = await ReferencesAsync(version);
        Assert.Equal(4, references.Count);
        Assert.All(references.Values, r => Assert.Equal((false, (double[]?)null, "vad-1"), (r.Answered, r.Answer, r.Replica)));
    }

    [Fact]
    public async Task Check_ModelThatRefusesEverySyntheticProbe_GivesTheSameResultAfterARestart()
    {
        var version = await PushAsync("vad", ThirdPartyModels.SileroVadV5.Path);
        var first = await CheckAsync(await CheckerAsync(), version, await StartAsync(ThirdPartyModels.SileroVadV5.Path), "vad-1");

        var second = await CheckAsync(await CheckerAsync(restarted: true), version, await StartAsync(ThirdPartyModels.SileroVadV5.Path), "vad-2");

        Assert.Equal(first, second);
        Assert.All((await ReferencesAsync(version)).Values, r => Assert.Equal("vad-1", r.Replica));
    }

    [Fact]
    public async Task Check_ModelWithRealSamples_IsCheckedOnThem()
    {
        var version = await PushAsync("vad", ThirdPartyModels.SileroVadV5.Path, [.. ThirdPartyModels.SileroVadV5.Requests]);
        Assert.Equal(2, version.Samples);

        var first = await CheckAsync(await CheckerAsync(), version, await StartAsync(ThirdPartyModels.SileroVadV5.Path), "vad-1");
        var second = await CheckAsync(await CheckerAsync(restarted: true), version, await StartAsync(ThirdPartyModels.SileroVadV5.Path), "vad-2");

        Assert.Equal(new ConsistencyResult(null, "checked on 2 sample probe(s)", 2, 2), first);
        Assert.True(first.Checked);
        Assert.Equal(first, second);
        var references = await ReferencesAsync(version);
        Assert.Equal(2, references.Count);
        Assert.All(references.Values, r => Assert.True(r.Answered && r.Answer is { Length: > 0 } && r.Replica == "vad-1"));
    }

    [Fact]
    public async Task Check_ReplicaOfTheSameFile_PassesOnTheSyntheticProbes()
    {
        var version = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));

        var first = await CheckAsync(await CheckerAsync(), version, await StartAsync(RepositoryFiles.Model("credit-risk.onnx")), "risk-1");
        var second = await CheckAsync(await CheckerAsync(restarted: true), version, await StartAsync(RepositoryFiles.Model("credit-risk.onnx")), "risk-2");

        Assert.Equal(new ConsistencyResult(null, "checked on 4 synthetic probe(s)", 4, 4), first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Check_ReplicaOfAnotherFileWithTheSameSignature_FailsOnItsAnswers()
    {
        var version = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));
        var reference = await CheckAsync(await CheckerAsync(), version, await StartAsync(RepositoryFiles.Model("credit-risk.onnx")), "risk-1");
        Assert.Null(reference.Failure);

        // A copy of the wrong file that the replica serves as this version.
        var result = await CheckAsync(await CheckerAsync(restarted: true), version, await StartAsync(RepositoryFiles.Model("credit-risk-v2.onnx")), "risk-2");

        Assert.NotNull(result.Failure);
        Assert.StartsWith("its answers differ from the reference replica's for the same model file (probe ", result.Failure, StringComparison.Ordinal);
        Assert.All((await ReferencesAsync(version)).Values, r => Assert.Equal("risk-1", r.Replica));
    }

    [Fact]
    public async Task Check_ReplicaOfAnotherModel_FailsOnTheSignature()
    {
        var version = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));

        var result = await CheckAsync(await CheckerAsync(), version, await StartAsync(RepositoryFiles.Model("mlp-large.onnx")), "risk-1");

        Assert.NotNull(result.Failure);
        Assert.StartsWith("the model it serves has the signature input FP32 [-1,512] -> output FP32 [-1,16], not version 1's features FP32 [-1,12]", result.Failure, StringComparison.Ordinal);

        // Caught before any probe: nothing it answered becomes a reference.
        Assert.Empty(await ReferencesAsync(version));
    }

    [Fact]
    public async Task Check_ImageModel_TakesEverySyntheticProbe()
    {
        // PaddleOCR's detector needs sides that are multiples of 32: the synthetic set's images (32, 64 and 128 pixels
        // a side, within its element limit) all are, so every probe is answered.
        var version = await PushAsync("ocr", ThirdPartyModels.PaddleOcrDetection.Path);

        var result = await CheckAsync(await CheckerAsync(), version, await StartAsync(ThirdPartyModels.PaddleOcrDetection.Path), "ocr-1");

        Assert.Equal(new ConsistencyResult(null, "checked on 4 synthetic probe(s)", 4, 4), result);
    }

    [Fact]
    public async Task Check_ModelThatFailsOnSomeProbes_IsCheckedOnTheRestByEveryReplica()
    {
        var version = await PushAsync("ocr", ThirdPartyModels.PaddleOcrDetection.Path);

        // A 40-pixel image, which the detector's feature pyramid cannot take: ONNX Runtime fails on it.
        var odd = new Stratus.Core.Models.ModelSignature(
            [version.Signature.Inputs[0] with { Shape = [1, 3, 40, 40] }],
            version.Signature.Outputs);
        IReadOnlyList<Probe> probes = [
            .. await ProbeSets.ForAsync(_registry, version, CancellationToken.None),
            Probe.Of(Stratus.Inference.Runtime.WarmUp.ProbeSet(odd, count: 1)[0], Probe.SyntheticKind)];

        var first = await (await CheckerAsync()).CheckAsync(version, probes, Served, (await StartAsync(ThirdPartyModels.PaddleOcrDetection.Path)).Address, "ocr-1", CancellationToken.None);
        var second = await (await CheckerAsync(restarted: true)).CheckAsync(version, probes, Served, (await StartAsync(ThirdPartyModels.PaddleOcrDetection.Path)).Address, "ocr-2", CancellationToken.None);

        Assert.Null(first.Failure);
        Assert.True(first.Checked);
        Assert.Equal((4, 5), (first.Usable, first.Total));
        Assert.StartsWith("checked on 4 of 5 synthetic probes; the model refused 1 (probe 5: 500 the model failed", first.Note, StringComparison.Ordinal);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Check_ReplicaAnsweringAnErrorThatIsNotTheModels_Fails()
    {
        var version = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));
        var faults = Path.Combine(_temp.Folder, "faults.json");
        await File.WriteAllTextAsync(faults, $$"""[{"deployment":"{{Served}}","version":1,"errorRate":1}]""");

        var result = await CheckAsync(await CheckerAsync(), version, await StartAsync(RepositoryFiles.Model("credit-risk.onnx"), faults), "risk-1");

        Assert.NotNull(result.Failure);
        Assert.StartsWith("it could not answer probe 1: 500 emulated fault", result.Failure, StringComparison.Ordinal);

        // A failing replica is no reference for the healthy ones after it.
        Assert.Empty(await ReferencesAsync(version));
    }

    [Fact]
    public async Task Divergence_BetweenTwoFilesOnceBothAnswered_IsTheLargestDifference()
    {
        var stable = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));
        var candidate = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk-v2.onnx"));
        var checker = await CheckerAsync();
        Assert.Null((await CheckAsync(checker, stable, await StartAsync(RepositoryFiles.Model("credit-risk.onnx")), "risk-1")).Failure);
        Assert.Null(await checker.DivergenceAsync(stable.Sha256, candidate.Sha256, CancellationToken.None));

        Assert.Null((await CheckAsync(checker, candidate, await StartAsync(RepositoryFiles.Model("credit-risk-v2.onnx")), "risk-2")).Failure);

        var divergence = await checker.DivergenceAsync(stable.Sha256, candidate.Sha256, CancellationToken.None);
        Assert.NotNull(divergence);
        Assert.Matches(@"^largest difference [0-9.eE+-]+ over the 4 probes$", divergence);
        Assert.NotEqual("largest difference 0 over the 4 probes", divergence);
        Assert.Equal("identical answers to the 4 probes", await checker.DivergenceAsync(stable.Sha256, stable.Sha256, CancellationToken.None));
    }

    [Fact]
    public async Task Divergence_BetweenTwoVersionsOfIdenticalFiles_IsNone()
    {
        var stable = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));
        var again = await PushAsync("credit-risk", RepositoryFiles.Model("credit-risk.onnx"));
        var checker = await CheckerAsync();
        Assert.Null((await CheckAsync(checker, stable, await StartAsync(RepositoryFiles.Model("credit-risk.onnx")), "risk-1")).Failure);

        Assert.Equal(stable.Sha256, again.Sha256);
        Assert.Equal("identical answers to the 4 probes", await checker.DivergenceAsync(stable.Sha256, again.Sha256, CancellationToken.None));
    }
}
