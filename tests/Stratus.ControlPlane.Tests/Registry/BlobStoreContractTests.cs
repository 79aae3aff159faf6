using System.Security.Cryptography;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>What every blob store must do; each store's tests subclass this.</summary>
public abstract class BlobStoreContractTests : StoreContractTests<IBlobStore>
{
    /// <summary>More than three chunks of a chunked store, ending mid-chunk.</summary>
    protected static readonly byte[] Model = RandomNumberGenerator.GetBytes((3 << 20) + 12345);

    protected static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    protected async Task<StagedContent> PutAsync(byte[] bytes)
    {
        var staged = await Store.StageAsync(new MemoryStream(bytes), maxBytes: bytes.Length);
        await Store.CommitAsync(staged);
        File.Delete(staged.Path);
        return staged;
    }

    [Fact]
    public async Task Commit_ThenRead_GivesTheSameBytesByStreamAndByLocalFile()
    {
        var staged = await PutAsync(Model);

        Assert.Equal((Sha256Of(Model), (long)Model.Length), (staged.Sha256, staged.Size));
        Assert.True(await Store.ContainsAsync(staged.Sha256));
        await using (var stream = await Store.OpenReadAsync(staged.Sha256))
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.True(copy.ToArray().AsSpan().SequenceEqual(Model));
        }

        Assert.True((await File.ReadAllBytesAsync(await Store.LocalPathAsync(staged.Sha256))).AsSpan().SequenceEqual(Model));
    }

    [Fact]
    public async Task Stage_PastTheLimit_IsRefusedAndStoresNothing()
    {
        await Assert.ThrowsAsync<ModelRejectedException>(() => Store.StageAsync(new MemoryStream(Model), maxBytes: Model.Length - 1));

        Assert.False(await Store.ContainsAsync(Sha256Of(Model)));
    }

    [Fact]
    public async Task Commit_SameBytesTwice_KeepsOneReadableCopy()
    {
        await PutAsync(Model);
        var again = await PutAsync(Model);

        Assert.True((await File.ReadAllBytesAsync(await Store.LocalPathAsync(again.Sha256))).AsSpan().SequenceEqual(Model));
    }

    [Fact]
    public async Task Read_UnknownBlob_IsNotFound()
    {
        var unknown = Sha256Of([1, 2, 3]);

        Assert.False(await Store.ContainsAsync(unknown));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.LocalPathAsync(unknown));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(unknown));
    }
}

public sealed class DirectoryBlobStoreTests : BlobStoreContractTests
{
    protected override Task<(IBlobStore, IAsyncDisposable)> CreateAsync()
    {
        var folder = new TempFolder();
        return Task.FromResult<(IBlobStore, IAsyncDisposable)>((new DirectoryBlobStore(Path.Combine(folder.Path, "models")), folder));
    }
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresBlobStoreTests(PostgresServer server) : BlobStoreContractTests
{
    private PostgresTestDatabase _database = null!;

    protected override async Task<(IBlobStore, IAsyncDisposable)> CreateAsync()
    {
        _database = await server.CreateDatabaseAsync();
        var cache = new TempFolder(then: _database);
        return (new PostgresBlobStore(_database.Database, cache.Path), cache);
    }

    [Fact]
    public async Task Read_OnAnotherServer_ComesFromTheDatabaseIntoItsOwnCache()
    {
        var staged = await PutAsync(Model);
        await using var elsewhere = new TempFolder();

        var path = await new PostgresBlobStore(_database.Database, elsewhere.Path).LocalPathAsync(staged.Sha256);

        Assert.StartsWith(elsewhere.Path, path, StringComparison.Ordinal);
        Assert.True((await File.ReadAllBytesAsync(path)).AsSpan().SequenceEqual(Model));
    }

    [Fact]
    public async Task Read_DamagedChunk_IsRefusedAndNotCached()
    {
        var staged = await PutAsync(Model);
        await _database.ExecuteAsync($"UPDATE blob_chunks SET data = '\\x00'::bytea || substring(data from 2) WHERE sha256 = '{staged.Sha256}' AND seq = 1;");
        await using var elsewhere = new TempFolder();
        var store = new PostgresBlobStore(_database.Database, elsewhere.Path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.LocalPathAsync(staged.Sha256));

        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(elsewhere.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Commit_WritesOneMebibyteChunks()
    {
        var staged = await PutAsync(Model);
        await using var connection = await _database.Database.ConnectAsync();
        await using var command = new Npgsql.NpgsqlCommand($"SELECT string_agg(length(data)::text, ',' ORDER BY seq) FROM blob_chunks WHERE sha256 = '{staged.Sha256}';", connection);

        Assert.Equal("1048576,1048576,1048576,12345", await command.ExecuteScalarAsync());
    }
}
