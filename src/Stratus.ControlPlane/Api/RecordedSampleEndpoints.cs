using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Registry;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary>
/// <c>POST /deployments/{name}/versions/{version}/recorded</c>: a live request a gateway in another process recorded
/// (the version answered it 2xx), handed to the same <see cref="Deployments.Consistency.RecordedSamples"/> as a gateway
/// in the control plane's process. It keeps the request as a sample only for a deployment that asks for recorded
/// probes, up to that many, and only if the request fits the version's signature; otherwise it drops it. Either way
/// the answer is 202: the gateway has nothing to do about a sample not kept.
/// </summary>
internal static class RecordedSampleEndpoints
{
    public static RouteGroupBuilder MapRecordedSamples(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        if (services.RecordedSamples is not { } recorded)
        {
            return api;
        }

        api.MapPost("/deployments/{name}/versions/{version:int}/recorded", async (HttpContext context, string name, int version) =>
        {
            SetBodyLimit(context, ModelRegistry.MaxSampleBytes);
            if (context.Request.ContentLength > ModelRegistry.MaxSampleBytes)
            {
                return TooLarge();
            }

            using var body = new MemoryStream();
            try
            {
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge();
            }

            await recorded.RecordAsync(name, version, body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted);
            return Results.Accepted();
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Hand over a request a gateway recorded", "The body is a v2 inference request the version answered 2xx. It becomes a sample of the version when the deployment asks for recorded probes and has fewer than it asks for, and it fits the version's signature; otherwise it is dropped. 202 either way.")
            .Accepts<System.Text.Json.JsonElement>("application/json")
            .Produces(StatusCodes.Status202Accepted);
        return api;
    }

    private static IResult TooLarge() => Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"a recorded request may be at most {ModelRegistry.MaxSampleBytes} bytes");
}
