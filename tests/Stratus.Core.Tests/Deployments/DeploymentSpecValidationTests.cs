using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;
using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Deployments;

/// <summary>The checks of a deployment spec, with no server: the clouds and the model's versions are arguments.</summary>
public sealed class DeploymentSpecValidationTests
{
    private static readonly CloudSpec[] Clouds =
    [
        new("local-eu", "local", "eu-west", "eu", new GeoLocation(53.3, -6.3), new Dictionary<string, int> { ["cpu-small"] = 4 }, new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) }, TimeSpan.Zero),
    ];

    private static readonly int[] Versions = [1, 2];

    private static DeploymentSpec Spec(int? replicas = 1, int? version = null, string? model = "risk") => new(null, model, version, replicas, null);

    private static DeploymentSpecCheck Check(DeploymentSpec? spec, string name = "risk", bool requireFeasible = true) =>
        DeploymentSpecValidation.Check(name, spec, Clouds, Versions, requireFeasible);

    [Fact]
    public void Check_SoundSpec_GivesTheDeploymentAtTheLatestVersionOnTheDefaultShape()
    {
        var check = Check(Spec(replicas: 2) with { Public = true });

        Assert.Empty(check.Problems);
        Assert.Equal(new Deployment("risk", "risk", 2, 2, "cpu-small") { Public = true }, check.Deployment);
    }

    [Fact]
    public void Check_NoBody_SaysSoAndNamesABadName()
    {
        var check = Check(null, name: "Bad_Name");

        Assert.Null(check.Deployment);
        Assert.Equal(2, check.Problems.Count);
        Assert.StartsWith("deployment name 'Bad_Name' must be 1-63 characters", check.Problems[0], StringComparison.Ordinal);
        Assert.Equal("the body must be a JSON object", check.Problems[1]);
    }

    [Fact]
    public void Check_SeveralFieldProblems_ReportsEachInTheOrderOfTheSpec()
    {
        var check = Check(new DeploymentSpec("other", "risk", 7, 5000, "gpu-huge") { Placement = new PlacementConstraints { AllowedClouds = ["nowhere"] } });

        Assert.Equal(
            [
                "'name' is 'other' but the URL names 'risk'",
                "'replicas' must be between 0 and 1000",
                "no cloud offers shape 'gpu-huge' (offered: cpu-small)",
                "model risk version 7 is not in the registry",
                "no such cloud: nowhere (clouds: local-eu)",
            ],
            check.Problems);
    }

    [Fact]
    public void Check_ModelWithNoVersions_AsksForAPush()
    {
        var check = DeploymentSpecValidation.Check("risk", Spec(), Clouds, [], requireFeasible: true);

        Assert.Equal(["model risk is not in the registry; push it first"], check.Problems);
    }

    [Fact]
    public void Check_NoModel_IsRequired() =>
        Assert.Equal(["'model' is required"], Check(Spec(model: null)).Problems);

    [Fact]
    public void Check_NoClouds_ChecksNeitherShapesNorCloudNames()
    {
        var spec = new DeploymentSpec(null, "risk", 1, 1, "gpu-huge") { Placement = new PlacementConstraints { AllowedClouds = ["anywhere"] } };

        Assert.Empty(DeploymentSpecValidation.Check("risk", spec, [], Versions, requireFeasible: true).Problems);
    }

    [Fact]
    public void Check_InfeasiblePlacement_IsRefusedOnlyWhenFeasibilityIsRequired()
    {
        var spec = Spec(replicas: 9);

        Assert.Equal("placement is infeasible: ", Check(spec).Problems.Single()[..25]);
        Assert.Equal(9, Check(spec, requireFeasible: false).Deployment?.Replicas);
    }

    [Theory]
    [InlineData(90, 20, "traffic weights must sum to 100, not 110")]
    [InlineData(50, 50, "traffic names model risk version 3, which is not in the registry")]
    public void Check_BadTrafficSplit_SaysWhatToChange(int first, int second, string expected)
    {
        var check = Check(Spec(version: 1) with { Traffic = [new TrafficSplit(1, first), new TrafficSplit(first == 50 ? 3 : 2, second)] });

        Assert.Equal([expected], check.Problems);
    }

    [Fact]
    public void TrafficProblems_OutOfRangeEntry_IsOneProblem()
    {
        var problems = DeploymentSpecValidation.TrafficProblems("risk", [new TrafficSplit(1, 150), new TrafficSplit(1, -50)], Versions);

        Assert.StartsWith("each traffic entry needs a 'version', a 'weight' from 0 to 100", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void TrafficProblems_RepeatedAndDoublyMirroredVersions_AreEachNamed()
    {
        var mirror = new MirrorSpec(10);
        var problems = DeploymentSpecValidation.TrafficProblems("risk", [new TrafficSplit(2, 50) { Mirror = mirror }, new TrafficSplit(2, 50) { Mirror = mirror }], Versions);

        Assert.Equal(["at most one version may be mirrored to", "each version may appear once in 'traffic'"], problems);
    }

    [Fact]
    public void Check_Autoscaling_ClampsReplicasIntoItsBounds()
    {
        var check = Check(Spec(replicas: 0) with { Autoscaling = new AutoscalingSpec { MinReplicas = 2, MaxReplicas = 3 } });

        Assert.Equal(2, check.Deployment?.Replicas);
    }

    [Fact]
    public void Check_ProbesRecordOutOfRange_IsRefused() =>
        Assert.Equal(["'probes.record' must be between 0 and 32"], Check(Spec() with { Probes = new ProbeSpec(null, 33) }).Problems);

    [Theory]
    [InlineData("blue-green", RolloutStrategy.BlueGreen)]
    [InlineData("blueGreen", RolloutStrategy.BlueGreen)]
    [InlineData("Canary", RolloutStrategy.Canary)]
    public void TryParseStrategy_WireNames_Parse(string name, RolloutStrategy expected)
    {
        Assert.True(DeploymentSpecValidation.TryParseStrategy(name, out var strategy));
        Assert.Equal(expected, strategy);
    }

    [Fact]
    public void TryParseStrategy_Unknown_Fails() => Assert.False(DeploymentSpecValidation.TryParseStrategy("big-bang", out _));
}
