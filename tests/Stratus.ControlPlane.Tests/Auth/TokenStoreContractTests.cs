using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Auth;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Auth;

/// <summary>What every token store must do; each store's tests subclass this.</summary>
public abstract class TokenStoreContractTests : StoreContractTests<ITokenStore>
{
    protected ITokenStore Tokens => Store;

    [Fact]
    public async Task CreateFirstAdmin_ServersStartingAtOnce_ExactlyOneCreatesIt()
    {
        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Tokens.CreateFirstAdminAsync("created by the first start"))));

        var admin = Assert.Single(created, c => c is not null)!;
        Assert.Equal(Role.Admin, admin.Info.Role);
        Assert.Equal([admin.Info.Id], (await Tokens.ListAsync()).Select(t => t.Id));
        Assert.Null(await Tokens.CreateFirstAdminAsync("a later start"));
    }

    [Fact]
    public async Task Authenticate_TheSecretJustCreated_GivesItsRole()
    {
        var created = await Tokens.CreateAsync(Role.Deployer, "ci pipeline");

        var found = await Tokens.AuthenticateAsync(created.Secret);

        Assert.NotNull(found);
        Assert.Equal(created.Info.Id, found.Id);
        Assert.Equal(Role.Deployer, found.Role);
        Assert.Equal("ci pipeline", found.Description);
        Assert.StartsWith("stratus_" + created.Info.Id + "_", created.Secret, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("stratus_")]
    [InlineData("not-a-token")]
    public async Task Authenticate_UnknownSecret_IsNull(string secret)
    {
        await Tokens.CreateAsync(Role.Admin, "admin");

        Assert.Null(await Tokens.AuthenticateAsync(secret));
    }

    [Fact]
    public async Task Authenticate_SecretWithOneCharacterChanged_IsNull()
    {
        var created = await Tokens.CreateAsync(Role.Admin, "admin");
        var tampered = created.Secret[..^1] + (created.Secret[^1] == 'A' ? 'B' : 'A');

        Assert.Null(await Tokens.AuthenticateAsync(tampered));
    }

    [Fact]
    public async Task Revoke_StopsTheTokenAndIsListed()
    {
        var created = await Tokens.CreateAsync(Role.Viewer, "dashboard");

        Assert.True(await Tokens.RevokeAsync(created.Info.Id));

        Assert.Null(await Tokens.AuthenticateAsync(created.Secret));
        Assert.False(await Tokens.RevokeAsync(created.Info.Id));
        var listed = Assert.Single(await Tokens.ListAsync());
        Assert.NotNull(listed.RevokedAt);
    }

    [Fact]
    public async Task Revoke_UnknownId_IsFalseAndChangesNothing()
    {
        var created = await Tokens.CreateAsync(Role.Viewer, "dashboard");

        Assert.False(await Tokens.RevokeAsync("nope"));

        Assert.NotNull(await Tokens.AuthenticateAsync(created.Secret));
    }

    [Fact]
    public async Task Create_EachTokenIsDistinct()
    {
        var a = await Tokens.CreateAsync(Role.Admin, "a");
        var b = await Tokens.CreateAsync(Role.Admin, "b");

        Assert.NotEqual(a.Secret, b.Secret);
        Assert.NotEqual(a.Info.Id, b.Info.Id);
        Assert.Equal(2, (await Tokens.ListAsync()).Count);
    }
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresTokenStoreTests(PostgresServer server) : TokenStoreContractTests
{
    protected override Task<(ITokenStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<ITokenStore>(database => new PostgresTokenStore(database, TimeProvider.System));
}
