using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Auth;

public sealed record TokenInfo(string Id, Role Role, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A new token: its record and the secret, which is shown this once and never stored.</summary>
public sealed record CreatedToken(TokenInfo Info, string Secret);
