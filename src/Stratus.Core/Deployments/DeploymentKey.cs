namespace Stratus.Core.Deployments;

/// <summary>An inference key of a deployment: never the key itself, only its SHA-256.</summary>
public sealed record DeploymentKey(string Id, string Deployment, string Description, string Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);
