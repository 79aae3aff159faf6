using Stratus.ControlPlane.Clouds;

namespace Stratus.ControlPlane.Tests.Clouds;

public sealed class CloudsConfigTests
{
    private const string OneCloud = """
        clouds:
          - name: local-us
            provider: local
            region: us-east
            jurisdiction: us
            location: { lat: 38.9, lon: -77.0 }
            latencyMs: 25
            capacity: { cpu-small: 8 }
            prices:
              cpu-small: { onDemand: 0.096, spot: 0.031 }
        """;

    [Fact]
    public void Parse_Default_HasThreeLocalCloudsInThreeJurisdictions()
    {
        var clouds = CloudsConfig.Parse(CloudsConfig.DefaultYaml());

        Assert.Equal(3, clouds.Count);
        Assert.All(clouds, c => Assert.Equal("local", c.Provider));
        Assert.Equal(3, clouds.Select(c => c.Jurisdiction).Distinct().Count());
        Assert.Equal(3, clouds.Select(c => c.Prices["cpu-small"].OnDemandPerHour).Distinct().Count());
    }

    [Fact]
    public void Parse_OneCloud_ReadsEveryField()
    {
        var cloud = Assert.Single(CloudsConfig.Parse(OneCloud));

        Assert.Equal("local-us", cloud.Name);
        Assert.Equal("us-east", cloud.Region);
        Assert.Equal("us", cloud.Jurisdiction);
        Assert.Equal(38.9, cloud.Location.Latitude);
        Assert.Equal(TimeSpan.FromMilliseconds(25), cloud.EmulatedLatency);
        Assert.Equal(8, cloud.Capacity["cpu-small"]);
        Assert.Equal(0.096m, cloud.Prices["cpu-small"].OnDemandPerHour);
        Assert.Equal(0.031m, cloud.Prices["cpu-small"].SpotPerHour);
    }

    [Theory]
    [InlineData("provider: local", "provider: azure", "clouds[0].provider must be one of local, docker, kubernetes")]
    [InlineData("jurisdiction: us", "jurisdiction: US", "clouds[0].jurisdiction must be a lower-case code")]
    [InlineData("lat: 38.9", "lat: 138.9", "clouds[0].location needs lat within -90..90")]
    [InlineData("cpu-small: 8", "cpu-small: -1", "clouds[0].capacity.cpu-small must not be negative")]
    [InlineData("cpu-small: { onDemand: 0.096, spot: 0.031 }", "cpu-large: { onDemand: 0.096, spot: 0.031 }", "clouds[0].prices has no price for shape 'cpu-small'")]
    [InlineData("spot: 0.031", "spot: -0.5", "clouds[0].prices.cpu-small needs onDemand and spot prices of 0 or more")]
    [InlineData("    region: us-east\n", "", "clouds[0].region is required")]
    [InlineData("latencyMs: 25", "latencyMs: -3", "clouds[0].latencyMs must not be negative")]
    public void Parse_BadField_IsReportedWithItsPath(string replace, string with, string expected)
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(OneCloud.Replace(replace, with, StringComparison.Ordinal)));

        Assert.Contains(error.Problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_SeveralProblems_AreAllReported()
    {
        var yaml = OneCloud.Replace("provider: local", "provider: nope", StringComparison.Ordinal).Replace("cpu-small: 8", "cpu-small: -8", StringComparison.Ordinal);

        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(yaml));

        Assert.Equal(2, error.Problems.Count);
    }

    [Fact]
    public void Parse_DuplicateNames_AreRefused()
    {
        var yaml = OneCloud + "\n" + OneCloud[(OneCloud.IndexOf("  - name", StringComparison.Ordinal))..];

        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(yaml));

        Assert.Contains("cloud name 'local-us' is used 2 times", error.Problems);
    }

    [Theory]
    [InlineData("clouds: [", "line")]
    [InlineData("clouds:\n  - name: a\n    colour: blue\n", "line 3")]
    [InlineData("clouds: []", "'clouds' must list at least one cloud")]
    [InlineData("", "'clouds' must list at least one cloud")]
    [InlineData("x: &a [1, 2]\nclouds:\n  - *a\n", "line 1, column 4: anchors are not allowed (&a)")]
    [InlineData("clouds:\n  - *a\n", "line 2, column 5: aliases are not allowed (*a)")]
    public void Parse_MalformedOrEmpty_IsRefusedWithWhere(string yaml, string expected)
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(yaml));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
