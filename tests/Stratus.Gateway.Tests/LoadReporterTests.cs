using Microsoft.Extensions.Logging.Abstractions;
using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.Gateway.Tests;

public sealed class LoadReporterTests
{
    private readonly LoadRecorder _recorder = new();

    private LoadReporter Reporter(params ILoadReportSink[] sinks) =>
        new(_recorder, new GatewayOptions { Id = "gw-test", Region = "eu", LoadSinks = sinks }, TimeProvider.System, NullLogger.Instance);

    private void Requests(int count, bool success = true)
    {
        for (var i = 0; i < count; i++)
        {
            _recorder.Started("risk");
            _recorder.Result("risk", 2, success, TimeSpan.FromMilliseconds(3), "local-eu");
            _recorder.Finished("risk");
        }
    }

    [Fact]
    public async Task Flush_ReportsTheIntervalOnce_WithTheNextSequence()
    {
        var server = new DedupingServer();
        var reporter = Reporter(server);
        Requests(5, success: false);
        _recorder.Shadow("risk", 3, new ShadowSample(true, true, new ResponseComparison([], null)));
        _recorder.ShadowSkipped("risk", 3);

        await reporter.FlushAsync();
        await reporter.FlushAsync();

        Assert.Equal([1L, 2L], server.Sequences);
        var first = server.Reports[0];
        Assert.Equal(("gw-test", "eu"), (first.Gateway, first.Region));
        Assert.Equal(new DeploymentCounts("risk", 0, 5), Assert.Single(first.Deployments));
        Assert.Equal((5L, 5L), (Assert.Single(first.Results).Requests, first.Results[0].Failures));
        Assert.Equal((1L, 1L), (Assert.Single(first.Shadows).Summary.Mirrored, first.Shadows[0].Summary.Skipped));
        Assert.Empty(server.Reports[1].Results);
        Assert.Equal(5, server.Reports[1].Deployments[0].Completed);
        Assert.True(first.To <= server.Reports[1].From);
    }

    [Fact]
    public async Task Flush_AServerDown_OthersGetEveryReport_AndItGetsTheQueueInOrderOnceBack()
    {
        var up = new DedupingServer();
        var down = new DedupingServer { Down = true };
        var reporter = Reporter(down, up);

        for (var i = 0; i < 3; i++)
        {
            Requests(10);
            await reporter.FlushAsync();
        }

        Assert.Equal([1L, 2L, 3L], up.Sequences);
        Assert.Empty(down.Sequences);

        down.Down = false;
        Requests(1);
        await reporter.FlushAsync();

        Assert.Equal([1L, 2L, 3L, 4L], down.Sequences);
        Assert.Equal(31, down.Requests);
        Assert.Equal(31, up.Requests);
    }

    [Fact]
    public async Task Flush_TheAnswerIsLost_TheReportIsSentAgainAndCountedOnce()
    {
        var server = new DedupingServer { LoseAnswers = 1 };
        var reporter = Reporter(server);
        Requests(10);

        await reporter.FlushAsync();
        Requests(2);
        await reporter.FlushAsync();

        Assert.Equal(12, server.Requests);
        Assert.Equal([1L, 2L], server.Sequences);
        Assert.Equal(1, server.Duplicates);
    }

    [Fact]
    public async Task Flush_AServerDownLongerThanTheQueue_GetsTheLatestReportsAndTheirTotals()
    {
        var down = new DedupingServer { Down = true };
        var reporter = Reporter(down);
        for (var i = 0; i < LoadReporter.MaxQueued + 5; i++)
        {
            Requests(1);
            await reporter.FlushAsync();
        }

        down.Down = false;
        await reporter.FlushAsync();

        Assert.Equal(LoadReporter.MaxQueued, down.Sequences.Count);
        Assert.Equal(reporter.Sequence, down.Sequences[^1]);
        Assert.Equal(LoadReporter.MaxQueued + 5, down.Reports[^1].Deployments[0].Completed);
    }

    /// <summary>A server as the control plane is one: it applies a sequence once; it can be down, or lose its answers after applying.</summary>
    private sealed class DedupingServer : ILoadReportSink
    {
        public bool Down { get; set; }

        public int LoseAnswers { get; set; }

        public List<GatewayLoadReport> Reports { get; } = [];

        public List<long> Sequences => [.. Reports.Select(r => r.Sequence)];

        public long Requests => Reports.SelectMany(r => r.Results).Sum(r => r.Requests);

        public int Duplicates { get; private set; }

        public Task ReportLoadAsync(GatewayLoadReport report, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new HttpRequestException("connection refused");
            }

            if (Reports.Count > 0 && report.Sequence <= Reports[^1].Sequence)
            {
                Duplicates++;
                return Task.CompletedTask;
            }

            Reports.Add(report);
            if (LoseAnswers > 0)
            {
                LoseAnswers--;
                throw new HttpRequestException("the answer was lost");
            }

            return Task.CompletedTask;
        }
    }
}
