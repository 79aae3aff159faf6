using Stratus.Client;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// A test class over a whole system of its own (<see cref="TestSystem"/>, started afresh for each test) with an admin
/// client of its API; <see cref="StartedAsync"/> is where a class sets the system up further.
/// </summary>
public abstract class SystemTest : IAsyncLifetime, IDisposable
{
    internal TestSystem Platform { get; private set; } = null!;

    protected StratusClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Platform = await TestSystem.StartAsync();
        Client = new StratusClient(Platform.ControlPlane.Address, Platform.AdminToken);
        await StartedAsync();
    }

    /// <summary>Runs once the system is up, before the test.</summary>
    protected virtual Task StartedAsync() => Task.CompletedTask;

    /// <summary>Pushes a model of the repository's models/ folder under a name.</summary>
    protected async Task<ModelVersionInfo> PushAsync(string name, string file)
    {
        await using var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model(file));
        return await Client.PushModelAsync(name, model);
    }

    public void Dispose()
    {
        Client?.Dispose();
        GC.SuppressFinalize(this);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Platform.DisposeAsync();
    }
}
