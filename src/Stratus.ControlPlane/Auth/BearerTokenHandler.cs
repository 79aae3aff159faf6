using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stratus.ControlPlane.Store;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Auth;

/// <summary>Where the bearer scheme finds the tokens it checks.</summary>
public sealed class BearerTokenOptions : AuthenticationSchemeOptions
{
    public ITokenStore? Tokens { get; set; }

    /// <summary>Failed checks per source address; null checks every token.</summary>
    public FailedAuthentications? Failures { get; set; }
}

/// <summary>
/// The control plane's bearer scheme: <c>Authorization: Bearer stratus_...</c> is checked with
/// <see cref="ITokenStore.AuthenticateAsync"/>, and a live token becomes a principal carrying its id and role. A request
/// without the header gets no result; one with an unknown or revoked token fails with the reason the 401 shows.
/// </summary>
internal sealed class BearerTokenHandler(IOptionsMonitor<BearerTokenOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<BearerTokenOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    public const string TokenIdClaim = "stratus:token";

    /// <summary>Why a request without a usable header is refused.</summary>
    public const string MissingToken = "send a token as 'Authorization: Bearer stratus_...'";

    /// <summary>Why a request with a token that authenticates no one is refused.</summary>
    public const string UnknownToken = "the token is unknown or revoked";

    /// <summary>Where a refusal for too many failed checks leaves how long to wait, for the 429's Retry-After.</summary>
    public const string RetryAfterItem = "stratus:auth-retry-after";

    private const string Prefix = "Bearer ";

    /// <summary>Who made a change, as the audit log records it.</summary>
    public static string Actor(ClaimsPrincipal user) => $"token:{user.FindFirstValue(TokenIdClaim)}";

    /// <summary>The role of an authenticated principal.</summary>
    public static Role? RoleOf(ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.Role) is { } name && Roles.TryParse(name, out var role) ? role : null;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        var tokens = Options.Tokens ?? throw new InvalidOperationException("the bearer scheme has no token store");
        var source = Context.Connection.RemoteIpAddress;
        if (Options.Failures?.RetryAfter(source) is { } wait)
        {
            Context.Items[RetryAfterItem] = wait;
            return AuthenticateResult.Fail($"too many failed token checks from {source}; try again in {Math.Ceiling(wait.TotalSeconds)} s");
        }

        var token = await tokens.AuthenticateAsync(header[Prefix.Length..].Trim(), Context.RequestAborted);
        if (token is null)
        {
            Options.Failures?.Failed(source);
            return AuthenticateResult.Fail(UnknownToken);
        }

        var identity = new ClaimsIdentity([new Claim(TokenIdClaim, token.Id), new Claim(ClaimTypes.Role, token.Role.ToWireName())], SchemeName, TokenIdClaim, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
