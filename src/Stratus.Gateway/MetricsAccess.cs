using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Stratus.Gateway;

/// <summary>
/// Who may read the gateway's <c>/metrics</c>: its series name every deployment, private ones included, and their
/// replicas, so it is not served to whoever can reach the inference port. Without a token only callers on a loopback
/// address get it (a Prometheus or an agent on the same machine); with <see cref="GatewayOptions.MetricsToken"/> set,
/// any caller that sends it as a bearer token does, and no other, which is how a Prometheus elsewhere scrapes it.
/// </summary>
public sealed class MetricsAccess(string? token)
{
    private readonly byte[]? _token = string.IsNullOrEmpty(token) ? null : Encoding.UTF8.GetBytes(token);

    /// <summary>Null when the caller may read the metrics, else the refusal to answer.</summary>
    public IResult? Refusal(HttpContext context)
    {
        if (_token is null)
        {
            return context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address)
                ? null
                : Results.Json(new { error = "/metrics is served to loopback callers only unless the gateway has a metrics token (--metrics-token-file)" }, statusCode: StatusCodes.Status403Forbidden);
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var sent = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()) : [];
        if (CryptographicOperations.FixedTimeEquals(sent, _token))
        {
            return null;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Json(new { error = "/metrics needs the gateway's metrics token as 'Authorization: Bearer <token>'" }, statusCode: StatusCodes.Status401Unauthorized);
    }
}
