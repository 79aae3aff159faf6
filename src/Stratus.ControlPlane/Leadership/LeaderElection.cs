using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Store;

namespace Stratus.ControlPlane.Leadership;

/// <summary>How long the control-plane lease lasts and how often its holder renews it.</summary>
public sealed class LeadershipOptions
{
    /// <summary>The lease the servers of one database compete for.</summary>
    public string LeaseName { get; set; } = "controller";

    /// <summary>How long a lease lasts unrenewed: the longest a dead leader keeps the others waiting.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the leader renews, and a follower asks.</summary>
    public TimeSpan RenewEvery { get; set; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// One server's part in choosing the leader among the control-plane servers of one database: it asks for the lease
/// until it gets it, then runs the leader's work (reconciler, autoscaler, rollout controller) under the lease's
/// fencing token and renews the lease while that work runs. It stops the work as soon as it cannot be sure it still
/// holds the lease: a renewal refused, or none confirmed for a whole <see cref="LeadershipOptions.Ttl"/> less one
/// renewal period. Even if this server is paused past that point and writes before it notices, every write the work
/// makes is fenced (<see cref="Fencing"/>): the store refuses it once another server holds the lease.
/// </summary>
public sealed partial class LeaderElection(ILeaseStore leases, string holder, LeadershipOptions options, TimeProvider time, ILogger logger)
{
    private volatile Lease? _leading;

    /// <summary>This server's name in the lease.</summary>
    public string Holder => holder;

    /// <summary>The lease while this server leads; null while it follows.</summary>
    public Lease? Leading => _leading;

    /// <summary>Competes for the lease until cancelled; gives it up (at once, not by expiry) when cancelled while leading.</summary>
    public async Task RunAsync(Func<FencingToken, CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var asked = time.GetTimestamp();
            var lease = await TryAcquireAsync(cancellationToken);
            if (lease is null)
            {
                if (!await WaitAsync(options.RenewEvery, cancellationToken))
                {
                    return;
                }

                continue;
            }

            await LeadAsync(lease, asked, lead, cancellationToken);
        }
    }

    private async Task LeadAsync(Lease lease, long asked, Func<FencingToken, CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        var token = new FencingToken(lease.Name, lease.Holder, lease.Epoch);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _leading = lease;
        LogLeading(logger, holder, lease.Epoch);
        var work = Task.Run(
            async () =>
            {
                using var fenced = Fencing.Enter(token);
                await lead(token, leading.Token);
            },
            CancellationToken.None);

        var confirmedAt = asked;
        var reason = "stopped";
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(work, Task.Delay(options.RenewEvery, time, cancellationToken));
            if (work.IsCompleted)
            {
                reason = work.Exception?.InnerException is FencedException ? "its writes were fenced" : "the leader's work ended";
                break;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var askedNow = time.GetTimestamp();
            var renewed = await TryAcquireAsync(cancellationToken);
            if (renewed is not null && renewed.Epoch == token.Epoch)
            {
                confirmedAt = askedNow;
                _leading = renewed;
                continue;
            }

            if (renewed is not null || time.GetElapsedTime(confirmedAt) >= options.Ttl - options.RenewEvery)
            {
                reason = renewed is null
                    ? $"no renewal confirmed for {time.GetElapsedTime(confirmedAt).TotalSeconds:0.0} s"
                    : $"the lease lapsed before its renewal and was taken again at epoch {renewed.Epoch}";
                break;
            }
        }

        _leading = null;
        await leading.CancelAsync();
        try
        {
            await work;
        }
        catch (Exception e) when (e is OperationCanceledException or FencedException)
        {
            // The work ends by cancellation, or by the fence that told it another server leads.
        }
        catch (Exception e)
        {
            LogWorkFailed(logger, e);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // A server that stops hands the lease over now rather than making the others wait for it to lapse.
            try
            {
                await leases.ReleaseAsync(options.LeaseName, holder, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogReleaseFailed(logger, e.Message);
            }
        }
        else
        {
            LogSteppedDown(logger, holder, token.Epoch, reason);
        }
    }

    private async Task<Lease?> TryAcquireAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(options.RenewEvery);
            return await leases.TryAcquireAsync(options.LeaseName, holder, options.Ttl, bounded.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The database is away or slow: not a lease, for now.
            LogAskFailed(logger, e.Message);
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task<bool> WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Holder} leads the control plane (lease epoch {Epoch})")]
    private static partial void LogLeading(ILogger logger, string holder, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Holder} stepped down from epoch {Epoch}: {Reason}")]
    private static partial void LogSteppedDown(ILogger logger, string holder, long epoch, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Asking for the control-plane lease failed: {Reason}")]
    private static partial void LogAskFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing the control-plane lease failed: {Reason}")]
    private static partial void LogReleaseFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The leader's work failed")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception);
}
