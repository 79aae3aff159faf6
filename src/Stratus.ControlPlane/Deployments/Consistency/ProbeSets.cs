using System.Security.Cryptography;
using System.Text;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;
using Stratus.Inference.Runtime;

namespace Stratus.ControlPlane.Deployments.Consistency;

/// <summary>One request of a probe set, with its SHA-256 (references are kept per probe) and whether it is a sample or synthetic.</summary>
public sealed record Probe(string Body, string Sha256, string Kind)
{
    public const string SampleKind = "sample";
    public const string SyntheticKind = "synthetic";

    public static Probe Of(string body, string kind) => new(body, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))), kind);
}

/// <summary>
/// What a new replica of a model version is asked before it takes traffic: the version's sample requests when it
/// has any (pushed with it, added through the API or a spec, or recorded from live traffic when the deployment opts
/// in), else a synthetic set generated from its signature (<see cref="WarmUp.ProbeSet"/>).
/// </summary>
public static class ProbeSets
{
    /// <summary>Probes at most per check, so a version with many samples is still checked in a moment.</summary>
    public const int MaxProbes = 16;

    public static async Task<IReadOnlyList<Probe>> ForAsync(ModelRegistry registry, ModelVersion version, CancellationToken cancellationToken)
    {
        if (version.Samples > 0)
        {
            var samples = await registry.ListSamplesAsync(version, cancellationToken);
            if (samples.Count > 0)
            {
                return [.. samples.Take(MaxProbes).Select(s => Probe.Of(s.Body, Probe.SampleKind))];
            }
        }

        return [.. WarmUp.ProbeSet(version.Signature).Select(body => Probe.Of(body, Probe.SyntheticKind))];
    }
}
