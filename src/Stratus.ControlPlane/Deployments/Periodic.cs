namespace Stratus.ControlPlane.Deployments;

/// <summary>Runs a tick once a period until cancelled; a failed tick is reported and the next one runs anyway.</summary>
internal static class Periodic
{
    public static async Task RunAsync(TimeProvider time, TimeSpan period, Func<CancellationToken, Task> tick, Action<Exception> failed, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await tick(cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failed(e);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
