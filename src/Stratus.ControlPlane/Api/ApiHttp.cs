using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Api;
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
        var (body, problem) = await ReadTextAsync(context, ControlPlaneApi.MaxJsonBodyBytes, TooLarge());
        if (problem is not null)
        {
            return (default, problem);
        }

        try
        {
            return (JsonSerializer.Deserialize<T>(body.Span, ControlPlaneApi.Json), null);
        }
        catch (JsonException e)
        {
            return (default, Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
    }

    /// <summary>The whole body once it is known to be UTF-8 text of at most <paramref name="limit"/> bytes, or the 400 or <paramref name="tooLarge"/> to answer.</summary>
    public static async Task<(ReadOnlyMemory<byte> Body, IResult? Problem)> ReadTextAsync(HttpContext context, long limit, IResult tooLarge)
    {
        SetBodyLimit(context, limit);
        if (context.Request.ContentLength > limit)
        {
            // Refused before a byte is read (a client that sent Expect: 100-continue never sends the body).
            return (default, tooLarge);
        }

        var buffer = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, tooLarge);
        }

        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        return Utf8Text.Problem(body.Span) is { } notUtf8
            ? (default, Problem(StatusCodes.Status400BadRequest, "not UTF-8", notUtf8))
            : (body, null);
    }

    /// <summary>
    /// The API decodes no Content-Encoding, and a body in one it does not decode must not be read as if it were
    /// plain: refused with 415 before the endpoint reads it.
    /// </summary>
    public static async ValueTask<object?> RefuseEncodedBodies(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var encoding = invocation.HttpContext.Request.Headers.ContentEncoding.ToString();
        return encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase)
            ? await next(invocation)
            : Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported content encoding", $"Content-Encoding '{encoding}' is not supported; send the body unencoded");
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
