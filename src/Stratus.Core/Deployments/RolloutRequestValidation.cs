using Stratus.Core.Api;

namespace Stratus.Core.Deployments;

/// <summary>What checking a rollout request found: the rollout to start, or every problem with the request.</summary>
public sealed record RolloutRequestCheck(Rollout? Rollout, IReadOnlyList<string> Problems);

/// <summary>
/// The checks on a request to roll a deployment to another model version, as a pure function over the request, the
/// deployment and the model's version numbers (what the registry holds): each problem is named, and only a request
/// with none gives a rollout, its defaults filled in.
/// </summary>
public static class RolloutRequestValidation
{
    public static readonly IReadOnlyList<int> DefaultSteps = [10, 25, 50, 100];

    public static RolloutRequestCheck Check(RolloutRequest? request, Deployment deployment, IReadOnlyCollection<int> modelVersions, DateTimeOffset now)
    {
        var problems = new List<string>();
        if (request?.Version is not { } version || !modelVersions.Contains(version))
        {
            problems.Add($"'version' must be a version of model {deployment.Model} in the registry");
        }
        else if (version == deployment.ModelVersion)
        {
            problems.Add($"deployment {deployment.Name} already runs version {version}");
        }

        if (!DeploymentSpecValidation.TryParseStrategy(request?.Strategy ?? "canary", out var strategy))
        {
            problems.Add(DeploymentSpecValidation.StrategyProblem);
        }

        var steps = request?.Steps ?? DefaultSteps;
        if (steps.Count == 0 || steps.Any(w => w is < 1 or > 100) || steps[^1] != 100 || !steps.Zip(steps.Skip(1)).All(p => p.First < p.Second))
        {
            problems.Add("'steps' must rise from 1 to 100 and end at 100");
        }

        if (request?.Replicas is < 1 or > DeploymentSpecValidation.MaxReplicas || request?.StepSeconds is < 1 || request?.MinRequests is < 1 || request?.MaxP99Ratio is < 1 || request?.P99SlackMs is < 0)
        {
            problems.Add($"'replicas' must be 1 to {DeploymentSpecValidation.MaxReplicas}, 'stepSeconds' and 'minRequests' positive, 'maxP99Ratio' at least 1, 'p99SlackMs' not negative");
        }

        if (request?.MaxErrorRateIncrease is < 0 or > 1 || request?.MirrorPercent is < 1 or > 100 || request?.AbsoluteTolerance is < 0 || request?.RelativeTolerance is < 0 || request?.MinArgmaxAgreement is < 0 or > 1)
        {
            problems.Add("'maxErrorRateIncrease' and 'minArgmaxAgreement' must be 0 to 1, 'mirrorPercent' 1 to 100, the tolerances not negative");
        }

        if (problems.Count > 0)
        {
            return new RolloutRequestCheck(null, problems);
        }

        return new RolloutRequestCheck(
            new Rollout(deployment.Name, strategy, deployment.ModelVersion, request!.Version!.Value, request.Replicas ?? deployment.Replicas, 0, now, RolloutState.Progressing, "started")
            {
                Steps = steps,
                StepDuration = TimeSpan.FromSeconds(request.StepSeconds ?? 60),
                MinRequests = request.MinRequests ?? 50,
                MaxLatencyRatio = request.MaxP99Ratio ?? 2.0,
                LatencySlack = TimeSpan.FromMilliseconds(request.P99SlackMs ?? 25),
                MaxErrorRateIncrease = request.MaxErrorRateIncrease ?? 0.01,
                Mirror = new MirrorSpec(request.MirrorPercent ?? 100, request.AbsoluteTolerance ?? 1e-4, request.RelativeTolerance ?? 1e-4),
                MinArgmaxAgreement = request.MinArgmaxAgreement ?? 0.99,
            },
            []);
    }
}
