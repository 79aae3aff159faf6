using System.Text;
using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Tests.Auth;

public sealed class SqliteTokenStoreTests : TokenStoreContractTests
{
    private TempDatabase _temp = null!;

    protected override async Task<(ITokenStore, IAsyncDisposable)> CreateAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        return (new SqliteTokenStore(_temp.Database, TimeProvider.System), _temp);
    }

    [Fact]
    public async Task Create_NeverWritesTheSecretToDisk()
    {
        var created = await Tokens.CreateAsync(Role.Admin, "admin");
        SqliteConnection.ClearAllPools();

        var secretPart = Encoding.UTF8.GetBytes(created.Secret.Split('_')[2]);
        foreach (var file in Directory.GetFiles(_temp.Folder))
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file);
            }
            catch (FileNotFoundException)
            {
                // A -wal or -shm file removed by the last connection's close after the listing: it holds nothing now.
                continue;
            }

            Assert.True(bytes.AsSpan().IndexOf(secretPart) < 0, $"{Path.GetFileName(file)} holds the secret");
        }

        Assert.NotNull(await Tokens.AuthenticateAsync(created.Secret));
    }

    [Fact]
    public async Task Authenticate_SurvivesReopeningTheFile()
    {
        var created = await Tokens.CreateAsync(Role.Deployer, "deployer");

        var reopened = new SqliteTokenStore(await Stratus.ControlPlane.Store.Sqlite.SqliteDatabase.OpenAsync(_temp.Database.Path), TimeProvider.System);

        Assert.Equal(Role.Deployer, (await reopened.AuthenticateAsync(created.Secret))?.Role);
    }
}
