using Microsoft.Extensions.Logging;
using Npgsql;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>
/// The change signal between the servers of one PostgreSQL database: <c>NOTIFY stratus_changes</c>, heard by every
/// server holding a connection with <c>LISTEN stratus_changes</c>. A listener whose connection breaks listens again
/// after a second, and calls <c>changed</c> once when it does, for what it may have missed meanwhile.
/// </summary>
public sealed partial class PostgresChangeSignal(PostgresDatabase database, ILogger logger) : IChangeSignal
{
    private const string Channel = "stratus_changes";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public async Task SignalAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"NOTIFY {Channel}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ListenAsync(Action changed, CancellationToken cancellationToken)
    {
        var missed = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.ConnectAsync(cancellationToken);
                connection.Notification += (_, _) => changed();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                if (missed)
                {
                    changed();
                }

                while (true)
                {
                    await connection.WaitAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                LogListenFailed(logger, e.Message);
                missed = true;
                try
                {
                    await Task.Delay(RetryDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for changes from other servers failed; listening again: {Reason}")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
