using System.Net;

namespace Stratus.ControlPlane.Tests.Api;

public sealed partial class ControlPlaneApiTests
{
    [Fact]
    public async Task Tokens_GuessedTooOftenFromOneAddress_Are429WithRetryAfter_EvenAGoodOne()
    {
        for (var i = 0; i < Stratus.ControlPlane.Auth.FailedAuthentications.DefaultLimit; i++)
        {
            using var guess = await SendAsync(HttpMethod.Get, "api/v1/deployments", $"stratus_guess{i}_nope");
            await ProblemAsync(guess, HttpStatusCode.Unauthorized);
        }

        // From now on, for the rest of the window, this address gets no token checked: not even a good one.
        using var refused = await SendAsync(HttpMethod.Get, "api/v1/deployments", _admin);
        var problem = await ProblemAsync(refused, (HttpStatusCode)429);
        Assert.Contains("too many failed token checks from 127.0.0.1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.InRange(int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture), 1, 60);

        // A call that carries no token is not a guess: it still gets its 401.
        using var anonymous = await SendAsync(HttpMethod.Get, "api/v1/deployments", token: null);
        await ProblemAsync(anonymous, HttpStatusCode.Unauthorized);
    }
}
