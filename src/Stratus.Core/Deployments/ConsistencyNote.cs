namespace Stratus.Core.Deployments;

/// <summary>What the consistency check of a deployment's model version found: checked on how many probes, or why not.</summary>
public sealed record ConsistencyNote(string Deployment, int Version, bool Checked, string Note, DateTimeOffset At);
