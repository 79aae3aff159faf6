using Microsoft.Extensions.Logging;
using Stratus.Core.Scaling;

namespace Stratus.Gateway;

/// <summary>
/// Every <see cref="GatewayOptions.LoadReportInterval"/> (500 ms, idle or not, so that the control plane knows the
/// gateway is alive), turns what the <see cref="LoadRecorder"/> saw into a <see cref="GatewayLoadReport"/> with the
/// next sequence number and queues it for each sink (each control-plane server, or the control plane in this
/// process). Each sink gets its queue in order, on its own task, so that a server that is down or slow never holds up
/// requests or the other servers: a report that fails stays queued and is sent again, with the same sequence, at the
/// next interval (the server ignores a sequence it has applied). A queue keeps the last
/// <see cref="MaxQueued"/> reports; older ones are dropped (their counts are in the later reports' totals, their
/// interval results are lost).
/// </summary>
public sealed partial class LoadReporter(LoadRecorder recorder, GatewayOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>Reports queued per sink at most: ten seconds of them.</summary>
    public const int MaxQueued = 20;

    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(2);

    private readonly Target[] _targets = [.. options.LoadSinks.Select(s => new Target(s))];
    private readonly Lock _lock = new();
    private long _sequence;
    private DateTimeOffset _from = time.GetUtcNow();

    /// <summary>The last sequence number reported.</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.LoadReportInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Queue(Take(), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_targets.Select(t => t.Delivering));
    }

    /// <summary>Reports now, and waits until every sink has taken all its queued reports or failed (for tests and shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        Queue(Take(), cancellationToken);
        foreach (var target in _targets)
        {
            await target.Delivering;
            Task again;
            lock (target)
            {
                again = target.Pending.Count == 0 ? Task.CompletedTask : target.Delivering = DeliverAsync(target, cancellationToken);
            }

            await again;
        }
    }

    private GatewayLoadReport Take()
    {
        lock (_lock)
        {
            var to = time.GetUtcNow();
            var (deployments, results, shadows) = recorder.TakeInterval();
            var report = new GatewayLoadReport(options.Id, options.Region, Interlocked.Increment(ref _sequence), _from, to, deployments, results, shadows);
            _from = to;
            return report;
        }
    }

    private void Queue(GatewayLoadReport report, CancellationToken cancellationToken)
    {
        foreach (var target in _targets)
        {
            lock (target)
            {
                target.Pending.Enqueue(report);
                while (target.Pending.Count > MaxQueued)
                {
                    target.Pending.Dequeue();
                }

                if (target.Delivering.IsCompleted)
                {
                    target.Delivering = Task.Run(() => DeliverAsync(target, cancellationToken), CancellationToken.None);
                }
            }
        }
    }

    /// <summary>Sends the target's queue, oldest first, until it is empty or a send fails (the next interval tries again).</summary>
    private async Task DeliverAsync(Target target, CancellationToken cancellationToken)
    {
        while (true)
        {
            GatewayLoadReport next;
            lock (target)
            {
                if (!target.Pending.TryPeek(out next!))
                {
                    return;
                }
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(SendTimeout);
                await target.Sink.ReportLoadAsync(next, timeout.Token);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                if (!target.Failing)
                {
                    target.Failing = true;
                    LogSinkFailed(logger, e.Message);
                }

                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (target)
            {
                if (target.Pending.TryPeek(out var head) && ReferenceEquals(head, next))
                {
                    target.Pending.Dequeue();
                }
            }

            if (target.Failing)
            {
                target.Failing = false;
                LogSinkRecovered(logger);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A load report did not arrive; it is sent again at the next interval: {Reason}")]
    private static partial void LogSinkFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Load reports arrive again")]
    private static partial void LogSinkRecovered(ILogger logger);

    private sealed class Target(ILoadReportSink sink)
    {
        public ILoadReportSink Sink { get; } = sink;

        public Queue<GatewayLoadReport> Pending { get; } = new();

        public Task Delivering { get; set; } = Task.CompletedTask;

        public bool Failing { get; set; }
    }
}
