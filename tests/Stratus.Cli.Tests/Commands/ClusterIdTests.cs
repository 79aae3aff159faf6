using Stratus.Cli.Commands;

namespace Stratus.Cli.Tests.Commands;

/// <summary><c>--cluster-id</c> on <c>server</c> and <c>up</c>, through the real parser.</summary>
public sealed class ClusterIdTests
{
    [Theory]
    [InlineData("server")]
    [InlineData("up")]
    public void ClusterId_Given_ReachesTheOptions_AndDefaultsToStratus(string verb)
    {
        var root = StratusCli.BuildRoot(new TestInteraction());

        Assert.Empty(root.Parse($"{verb} --cluster-id team-a").Errors);
        Assert.Equal("team-a", root.Parse($"{verb} --cluster-id team-a").GetValue<string>("--cluster-id"));
        Assert.Equal("stratus", root.Parse(verb).GetValue<string>("--cluster-id"));
        var server = (ServerCommand)root.Subcommands.Single(c => c.Name == "server");
        Assert.Equal("team-a", server.ToOptions(root.Parse("server --cluster-id team-a")).ClusterId);
    }

    [Theory]
    [InlineData("Team_A")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("a2345678901234567890123456789012345678901")]
    public void ClusterId_NotALabel_IsAParseError(string value)
    {
        var root = StratusCli.BuildRoot(new TestInteraction());

        var error = Assert.Single(root.Parse($"server --cluster-id {value}").Errors);

        Assert.Contains("--cluster-id must be 1 to 40 characters", error.Message, StringComparison.Ordinal);
    }
}
