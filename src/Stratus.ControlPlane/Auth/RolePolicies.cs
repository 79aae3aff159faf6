using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Stratus.ControlPlane.Store;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Auth;

/// <summary>A role a call needs; a token with a higher role passes too (viewer &lt; deployer &lt; admin).</summary>
public sealed record RoleRequirement(Role Role) : IAuthorizationRequirement;

/// <summary>Passes a <see cref="RoleRequirement"/> for a principal whose role allows it.</summary>
internal sealed class RoleRequirementHandler : AuthorizationHandler<RoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
    {
        if (BearerTokenHandler.RoleOf(context.User) is { } held && held.Allows(requirement.Role))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>The control plane's authorization: one policy per role, named by the role's wire name, over the bearer scheme.</summary>
public static class RolePolicies
{
    public const string Viewer = "viewer";

    public const string Deployer = "deployer";

    public const string Admin = "admin";

    /// <summary>Registers the bearer scheme over <paramref name="tokens"/>, the role policies and their problem+json refusals.</summary>
    public static IServiceCollection AddStratusAuthorization(this IServiceCollection services, ITokenStore tokens, FailedAuthentications? failures = null)
    {
        // The core of authentication, not AddAuthentication: that one also adds data protection, whose key ring a bearer
        // scheme never uses, yet it would write keys to the user's home folder at every start.
        services.AddAuthenticationCore(options =>
        {
            options.DefaultScheme = BearerTokenHandler.SchemeName;
            options.AddScheme<BearerTokenHandler>(BearerTokenHandler.SchemeName, displayName: null);
        });
        services.AddWebEncoders();
        services.AddOptions<BearerTokenOptions>(BearerTokenHandler.SchemeName).Configure(options =>
        {
            options.Tokens = tokens;
            options.Failures = failures ?? new FailedAuthentications(TimeProvider.System);
        });
        services.AddSingleton<IAuthorizationHandler, RoleRequirementHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        var authorization = services.AddAuthorizationBuilder();
        foreach (var role in Enum.GetValues<Role>())
        {
            authorization.AddPolicy(role.ToWireName(), policy => policy
                .AddAuthenticationSchemes(BearerTokenHandler.SchemeName)
                .RequireAuthenticatedUser()
                .AddRequirements(new RoleRequirement(role)));
        }

        return services;
    }
}
