namespace Stratus.Testing;

/// <summary>
/// Awaits a condition that nothing signals (a process gone, a record removed by a later reconciler pass), checking it
/// every 50 ms up to a bound, and fails with a description when the bound passes.
/// </summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, string description, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"after {seconds} s: {description}");
            }

            await Task.Delay(50);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, string description, int seconds = 60) =>
        HoldsAsync(() => Task.FromResult(condition()), description, seconds);

    /// <summary>Awaits a value that nothing signals: the first non-null one <paramref name="read"/> returns.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> read, string description, int seconds = 60)
        where T : class
    {
        T? value = null;
        await HoldsAsync(async () => (value = await read()) is not null, description, seconds);
        return value!;
    }
}
