using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>Two control-plane servers on one PostgreSQL database, each with its own data folder, share their models.</summary>
[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class SharedModelRegistryTests(PostgresServer server)
{
    private static ModelRegistry RegistryOn(PostgresDatabase database, string dataDirectory) =>
        new(new PostgresModelVersionStore(database, TimeProvider.System), new PostgresBlobStore(database, Path.Combine(dataDirectory, "models")));

    [Fact]
    public async Task Push_OnOneServer_IsReadableByteIdenticalOnAnother()
    {
        await using var database = await server.CreateDatabaseAsync();
        await using var second = await PostgresDatabase.OpenAsync(database.ConnectionString);
        await using var firstData = new TempFolder();
        await using var secondData = new TempFolder();
        var model = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");
        await using (var upload = File.OpenRead(model))
        {
            await RegistryOn(database.Database, firstData.Path).PushAsync("credit-risk", upload, "admin");
        }

        var other = RegistryOn(second, secondData.Path);
        var version = await other.GetAsync("credit-risk", 1);
        var path = await other.LocalPathAsync(version!);

        Assert.StartsWith(secondData.Path, path, StringComparison.Ordinal);
        var expected = await File.ReadAllBytesAsync(model);
        Assert.True((await File.ReadAllBytesAsync(path)).AsSpan().SequenceEqual(expected));
        Assert.Equal("features", Assert.Single(version!.Signature.Inputs).Name);
    }
}
