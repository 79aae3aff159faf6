using Stratus.Client;
using Stratus.Core.Deployments;
using Stratus.Core.Models;

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
        Platform = await TestSystem.StartAsync(CloudsYaml);
        Client = new StratusClient(Platform.ControlPlane.Address, Platform.AdminToken);
        await StartedAsync();
    }

    /// <summary>The clouds of the system: null for the three default local clouds.</summary>
    protected virtual string? CloudsYaml => null;

    /// <summary>Runs once the system is up, before the test.</summary>
    protected virtual Task StartedAsync() => Task.CompletedTask;

    /// <summary>Pushes a model of the repository's models/ folder under a name.</summary>
    protected async Task<ModelVersion> PushAsync(string name, string file)
    {
        await using var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model(file));
        return await Client.PushModelAsync(name, model);
    }

    /// <summary>Waits (two minutes at most) for a deployment's rollout to promote or roll back; also how long that took from <paramref name="startedAt"/>.</summary>
    protected async Task<(Rollout Rollout, TimeSpan Took)> SettledAsync(string deployment, long startedAt)
    {
        Rollout? rollout = null;
        try
        {
            await Stratus.Testing.Eventually.HoldsAsync(
                async () => (rollout = await Client.GetRolloutAsync(deployment)).State is RolloutState.Promoted or RolloutState.RolledBack,
                "the rollout promoted or rolled back",
                seconds: 120);
        }
        catch (Exception e) when (rollout is not null)
        {
            throw new TimeoutException($"the rollout is still {rollout.State}: {rollout.Reason}", e);
        }

        return (rollout!, System.Diagnostics.Stopwatch.GetElapsedTime(startedAt));
    }

    protected async Task<Rollout> SettledAsync(string deployment) => (await SettledAsync(deployment, System.Diagnostics.Stopwatch.GetTimestamp())).Rollout;

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
