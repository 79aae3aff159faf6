namespace Stratus.ControlPlane.Tests.Store;

/// <summary>
/// What every store contract suite shares: each test gets a fresh database from the provider's subclass, which makes
/// the store on it, and the database goes when the test ends.
/// </summary>
public abstract class StoreContractTests<TStore> : IAsyncLifetime
    where TStore : class
{
    private IAsyncDisposable? _database;

    protected TStore Store { get; private set; } = null!;

    /// <summary>The store under test and the database it lives in.</summary>
    protected abstract Task<(TStore Store, IAsyncDisposable Database)> CreateAsync();

    /// <summary>What a suite writes before each of its tests.</summary>
    protected virtual Task SeedAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        (Store, _database) = await CreateAsync();
        await SeedAsync();
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
