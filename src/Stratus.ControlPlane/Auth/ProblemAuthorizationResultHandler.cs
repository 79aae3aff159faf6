using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Auth;

/// <summary>
/// Answers a refused call as <c>application/problem+json</c>: 401 when no live token came (saying whether it was
/// missing or unknown), 429 when its address has failed too many token checks lately, 403 when the token's role is too weak (saying which role the call needs). The endpoint never
/// runs, so nothing changes either way.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            // The scheme caches its result per request, so this reads the token store no second time.
            var authenticated = await context.AuthenticateAsync(BearerTokenHandler.SchemeName);
            if (context.Items[BearerTokenHandler.RetryAfterItem] is TimeSpan wait)
            {
                context.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Problem(detail: authenticated.Failure?.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "too many failed token checks").ExecuteAsync(context);
                return;
            }

            await Results.Problem(detail: authenticated.Failure?.Message ?? BearerTokenHandler.MissingToken, statusCode: StatusCodes.Status401Unauthorized, title: "unauthorized").ExecuteAsync(context);
            return;
        }

        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<RoleRequirement>().ToList() is { Count: > 0 } failed)
        {
            var required = failed.Max(r => r.Role);
            var held = BearerTokenHandler.RoleOf(context.User);
            await Results.Problem(detail: $"this needs the {required.ToWireName()} role; the token has {held?.ToWireName()}", statusCode: StatusCodes.Status403Forbidden, title: "forbidden").ExecuteAsync(context);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
