using Stratus.ControlPlane.Auth;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Store;

/// <summary>Bearer tokens for the control-plane API, stored as hashes.</summary>
public interface ITokenStore
{
    Task<CreatedToken> CreateAsync(Role role, string description, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates the first admin token only if the store holds no token at all, atomically against other servers
    /// starting on the same store at the same moment; null when there was one already.
    /// </summary>
    Task<CreatedToken?> CreateFirstAdminAsync(string description, CancellationToken cancellationToken = default);

    /// <summary>The token's record, or null when the secret is unknown or revoked.</summary>
    Task<TokenInfo?> AuthenticateAsync(string secret, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TokenInfo>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes a token by id; false when there is no such live token.</summary>
    Task<bool> RevokeAsync(string id, CancellationToken cancellationToken = default);
}
