using System.Net;
using Stratus.ControlPlane.Auth;

namespace Stratus.ControlPlane.Tests.Auth;

public sealed class FailedAuthenticationsTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("10.1.2.3");
    private static readonly IPAddress Other = IPAddress.Parse("10.1.2.4");

    [Fact]
    public void Failures_UpToTheLimit_BlockThatAddressOnly_UntilTheWindowEnds()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var failures = new FailedAuthentications(clock, limit: 3, window: TimeSpan.FromSeconds(60));

        failures.Failed(Guesser);
        failures.Failed(Guesser);
        Assert.Null(failures.RetryAfter(Guesser));

        clock.Advance(TimeSpan.FromSeconds(10));
        failures.Failed(Guesser);
        Assert.Equal(TimeSpan.FromSeconds(50), failures.RetryAfter(Guesser));
        Assert.Null(failures.RetryAfter(Other));
        Assert.Null(failures.RetryAfter(null));

        clock.Advance(TimeSpan.FromSeconds(50));
        Assert.Null(failures.RetryAfter(Guesser));

        // A new window counts afresh.
        failures.Failed(Guesser);
        Assert.Null(failures.RetryAfter(Guesser));
    }
}
