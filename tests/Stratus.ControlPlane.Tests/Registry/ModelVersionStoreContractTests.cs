using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>What every model version store must do; each store's tests subclass this.</summary>
public abstract class ModelVersionStoreContractTests : IAsyncLifetime
{
    private static readonly ModelSignature Signature = new(
        [new TensorSpec("features", TensorDataType.Fp32, [-1, 12], ["batch", ""])],
        [new TensorSpec("label", TensorDataType.Int64, [-1], ["batch"])]);

    protected IModelVersionStore Versions { get; private set; } = null!;

    protected abstract Task<IModelVersionStore> CreateAsync();

    public async Task InitializeAsync() => Versions = await CreateAsync();

    public abstract Task DisposeAsync();

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
}

public sealed class SqliteModelVersionStoreTests : ModelVersionStoreContractTests
{
    private TempDatabase _temp = null!;

    protected override async Task<IModelVersionStore> CreateAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        return new SqliteModelVersionStore(_temp.Database, TimeProvider.System);
    }

    public override async Task DisposeAsync() => await _temp.DisposeAsync();
}
