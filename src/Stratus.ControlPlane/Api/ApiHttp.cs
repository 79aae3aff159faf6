using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Api;

/// <summary>What every endpoint shares: problem answers, body limits, reading JSON bodies, the caller's name, descriptions.</summary>
internal static class ApiHttp
{
    public static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    public static IResult NoSuchDeployment(string name) => Problem(StatusCodes.Status404NotFound, "no such deployment", $"deployment '{name}' does not exist");

    /// <summary>Who is calling, as the audit log records it (the bearer scheme authenticated them).</summary>
    public static string Actor(this HttpContext context) => BearerTokenHandler.Actor(context.User);

    public static string? Serialize<T>(T? value) => value is null ? null : JsonSerializer.Serialize(value, ControlPlaneApi.Json);

    public static async Task<Deployment?> FindAsync(ControlPlaneServices services, string name, CancellationToken cancellationToken) =>
        (await services.Deployments.ListAsync(cancellationToken)).FirstOrDefault(d => d.Name == name);

    /// <summary>Publishes the route table now (a key change must reach gateways without waiting for a reconciler pass).</summary>
    public static Task PublishAsync(ControlPlaneServices services, CancellationToken cancellationToken)
    {
        services.TriggerReconcile();
        return services.PublishRoutes?.Invoke(cancellationToken) ?? Task.CompletedTask;
    }

    /// <summary>The body as <typeparamref name="T"/>, or the 400 (not JSON of that shape) or 413 (too large) to answer.</summary>
    public static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpContext context)
    {
        SetBodyLimit(context, ControlPlaneApi.MaxJsonBodyBytes);
        if (context.Request.ContentLength > ControlPlaneApi.MaxJsonBodyBytes)
        {
            // Refused before a byte is read (a client that sent Expect: 100-continue never sends the body).
            return (default, TooLarge());
        }

        try
        {
            return (await JsonSerializer.DeserializeAsync<T>(context.Request.Body, ControlPlaneApi.Json, context.RequestAborted), null);
        }
        catch (JsonException e)
        {
            return (default, Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, TooLarge());
        }
    }

    public static void SetBodyLimit(HttpContext context, long bytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = bytes;
        }
    }

    /// <summary>Names the endpoint in the OpenAPI document, with the 401 and 403 every call may get.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder endpoint, string summary, string? description = null)
    {
        endpoint.WithSummary(summary).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        if (description is not null)
        {
            endpoint.WithDescription(description);
        }

        return endpoint;
    }

    private static IResult TooLarge() => Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"a JSON body may be at most {ControlPlaneApi.MaxJsonBodyBytes} bytes");
}
