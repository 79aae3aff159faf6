using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Models;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>What every model version store must do; each store's tests subclass this.</summary>
public abstract class ModelVersionStoreContractTests : StoreContractTests<IModelVersionStore>
{
    private static readonly ModelSignature Signature = new(
        [new TensorSpec("features", TensorDataType.Fp32, [-1, 12], ["batch", ""])],
        [new TensorSpec("label", TensorDataType.Int64, [-1], ["batch"])]);

    protected IModelVersionStore Versions => Store;

    private Task<ModelVersion> AddAsync(string name, string sha = "ab") => Versions.AddAsync(name, sha, 42, Signature, "token:tester");

    [Fact]
    public async Task Add_NumbersVersionsPerNameFromOne()
    {
        var first = await AddAsync("risk");
        var other = await AddAsync("fraud");
        var second = await AddAsync("risk");

        Assert.Equal(1, first.Version);
        Assert.Equal(1, other.Version);
        Assert.Equal(2, second.Version);
    }

    [Fact]
    public async Task Add_Concurrently_GivesDistinctConsecutiveVersions()
    {
        var added = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => AddAsync("risk")));

        Assert.Equal(Enumerable.Range(1, 16), added.Select(v => v.Version).Order());
    }

    [Fact]
    public async Task Get_RoundTripsEveryFieldIncludingTheSignature()
    {
        var added = await AddAsync("risk", "cafe");

        var found = await Versions.GetAsync("risk", 1);

        Assert.NotNull(found);
        Assert.Equal(("risk", 1, "cafe", 42L, "token:tester"), (found.Name, found.Version, found.Sha256, found.SizeBytes, found.CreatedBy));
        Assert.Equal(added.CreatedAt, found.CreatedAt);
        Assert.Equal(Signature.Inputs[0].Shape, found.Signature.Inputs[0].Shape);
        Assert.Equal(Signature.Inputs[0].DimensionNames, found.Signature.Inputs[0].DimensionNames);
        Assert.Equal(TensorDataType.Int64, found.Signature.Outputs[0].DataType);
        Assert.Null(await Versions.GetAsync("risk", 2));
        Assert.Null(await Versions.GetAsync("nothing", 1));
    }

    [Fact]
    public async Task List_AllByNameThenVersionOrOneNameOldestFirst()
    {
        await AddAsync("risk");
        await AddAsync("fraud");
        await AddAsync("risk");

        Assert.Equal([("fraud", 1), ("risk", 1), ("risk", 2)], (await Versions.ListAsync()).Select(v => (v.Name, v.Version)));
        Assert.Equal([1, 2], (await Versions.ListAsync("risk")).Select(v => v.Version));
        Assert.Empty(await Versions.ListAsync("nothing"));
    }

    [Fact]
    public async Task Add_WithSamples_ListsThemInOrderWithSourceAndSha()
    {
        SampleRequest[] samples = [SampleRequest.Of("""{"inputs":[1]}""", "push"), SampleRequest.Of("""{"inputs":[2]}""", "push")];

        var added = await Versions.AddAsync("risk", "ab", 42, Signature, "token:tester", samples);

        Assert.Equal(2, added.Samples);
        var listed = await Versions.ListSamplesAsync("risk", 1);
        Assert.Equal([1, 2], listed.Select(s => s.Seq));
        Assert.Equal(samples.Select(s => (s.Body, s.Sha256, s.Source)), listed.Select(s => (s.Body, s.Sha256, s.Source)));
        Assert.Equal(added.CreatedAt, listed[0].CreatedAt);
        Assert.Empty(await Versions.ListSamplesAsync("risk", 2));
    }

    [Fact]
    public async Task AddSamples_SkipsOnesItHasBySha_AndCountsOnlyTheNewOnes()
    {
        var first = SampleRequest.Of("""{"inputs":[1]}""", "push");
        await Versions.AddAsync("risk", "ab", 42, Signature, "token:tester", [first]);
        var second = SampleRequest.Of("""{"inputs":[2]}""", "api");

        // The same body from another source is the same sample: the first stands, its source included.
        var added = await Versions.AddSamplesAsync("risk", 1, [first with { Source = "gateway" }, second, second]);

        Assert.Equal(1, added);
        Assert.Equal([("push", first.Sha256), ("api", second.Sha256)], (await Versions.ListSamplesAsync("risk", 1)).Select(s => (s.Source, s.Sha256)));
        Assert.Equal(0, await Versions.AddSamplesAsync("risk", 1, [second]));
    }

    [Fact]
    public async Task GetAndList_CountEachVersionsSamples()
    {
        await Versions.AddAsync("risk", "ab", 42, Signature, "token:tester", [SampleRequest.Of("""{"inputs":[1]}""", "push")]);
        await AddAsync("risk");
        await Versions.AddSamplesAsync("risk", 2, [SampleRequest.Of("""{"inputs":[1]}""", "api"), SampleRequest.Of("""{"inputs":[2]}""", "api")]);

        Assert.Equal(1, (await Versions.GetAsync("risk", 1))!.Samples);
        Assert.Equal(2, (await Versions.GetAsync("risk", 2))!.Samples);
        Assert.Equal([1, 2], (await Versions.ListAsync("risk")).Select(v => v.Samples));
        Assert.Equal([1, 2], (await Versions.ListAsync()).Select(v => v.Samples));
    }
}

public sealed class SqliteModelVersionStoreTests : ModelVersionStoreContractTests
{
    protected override Task<(IModelVersionStore, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync<IModelVersionStore>(database => new SqliteModelVersionStore(database, TimeProvider.System));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresModelVersionStoreTests(PostgresServer server) : ModelVersionStoreContractTests
{
    protected override Task<(IModelVersionStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<IModelVersionStore>(database => new PostgresModelVersionStore(database, TimeProvider.System));
}
