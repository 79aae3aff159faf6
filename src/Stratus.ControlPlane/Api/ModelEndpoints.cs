using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Api;
using Stratus.Core.Models;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/models</c>: push a model (validated in ONNX Runtime), list and show versions, add and list sample requests.</summary>
internal static class ModelEndpoints
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapPost("/models/{name}", async (HttpContext context, string name) =>
        {
            // Models may be far larger than any JSON body: the registry's own limit applies, checked as the upload streams.
            SetBodyLimit(context, ModelRegistry.DefaultMaxModelBytes + (ModelRegistry.MaxSamples * (long)ModelRegistry.MaxSampleBytes));
            var actor = context.Actor();
            try
            {
                var version = await ModelUploads.PushAsync(context, services.Models, name, actor);
                await services.Audit.AppendAsync(actor, "model.push", $"{name}/{version.Version}", null, JsonSerializer.Serialize(new { version.Sha256, version.SizeBytes, version.Samples }, ControlPlaneApi.Json), context.RequestAborted);
                return Results.Json(version, ControlPlaneApi.Json, statusCode: StatusCodes.Status201Created);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "model refused", e.Message);
            }
            catch (StorageFullException e)
            {
                return Problem(StatusCodes.Status507InsufficientStorage, "insufficient storage", e.Message);
            }
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Push a model", "The body is the .onnx file (application/octet-stream), or multipart/form-data with a 'model' part (the file) and any number of 'sample' parts: real v2 inference requests (JSON) that become the version's probe set. The model is validated in ONNX Runtime and every sample against its signature before anything is stored; the version is stored by SHA-256 with the next number.")
            .Accepts<Stream>("application/octet-stream", "multipart/form-data")
            .Produces<ModelVersion>(StatusCodes.Status201Created);

        api.MapPost("/models/{name}/versions/{version:int}/samples", async (HttpContext context, string name, int version) =>
        {
            var (samples, malformed) = await ReadSamplesAsync(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await services.Models.GetAsync(name, version, context.RequestAborted) is not { } found)
            {
                return NoSuchVersion(name, version);
            }

            try
            {
                await StoreSamplesAsync(services, found, samples, "api", context.Actor(), deployment: null, context.RequestAborted);
                return Results.Json(await services.Models.GetAsync(name, version, context.RequestAborted), ControlPlaneApi.Json);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "sample refused", e.Message);
            }
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Add sample requests to a model version", "The body is one v2 inference request or a JSON array of them. Each is checked against the version's signature; samples it already has are skipped. Samples are the probe set of the consistency check and what replicas warm up with.")
            .Accepts<JsonElement>("application/json")
            .Produces<ModelVersion>();

        api.MapGet("/models/{name}/versions/{version:int}/samples", async (HttpContext context, string name, int version) =>
            await services.Models.GetAsync(name, version, context.RequestAborted) is { } found
                ? Results.Json((await services.Models.ListSamplesAsync(found, context.RequestAborted)).Select(View), ControlPlaneApi.Json)
                : NoSuchVersion(name, version))
            .Describe("A model version's sample requests")
            .Produces<SampleView[]>();

        api.MapGet("/models", async (HttpContext context, CancellationToken aborted) =>
            Results.Json(await services.Models.ListAsync(cancellationToken: context.RequestAborted), ControlPlaneApi.Json))
            .Describe("List every model version")
            .Produces<ModelVersion[]>();

        api.MapGet("/models/{name}", async (HttpContext context, string name) =>
        {
            var versions = await services.Models.ListAsync(name, context.RequestAborted);
            return versions.Count == 0
                ? Problem(StatusCodes.Status404NotFound, "no such model", $"model '{name}' has no versions")
                : Results.Json(versions, ControlPlaneApi.Json);
        })
            .Describe("List one model's versions")
            .Produces<ModelVersion[]>();

        api.MapGet("/models/{name}/versions/{version:int}", async (HttpContext context, string name, int version) =>
            await services.Models.GetAsync(name, version, context.RequestAborted) is { } found
                ? Results.Json(found, ControlPlaneApi.Json)
                : NoSuchVersion(name, version))
            .Describe("One model version with its signature")
            .Produces<ModelVersion>();

        api.MapGet("/models/{name}/versions/{version:int}/artifact", async (HttpContext context, string name, int version) =>
        {
            if (await services.Models.GetAsync(name, version, context.RequestAborted) is not { } found)
            {
                return NoSuchVersion(name, version);
            }

            // The digest travels with the bytes, so the fetcher checks what it got against what the registry holds.
            context.Response.Headers[ArtifactHeaders.Sha256] = found.Sha256;
            var stream = await services.Models.OpenAsync(found, context.RequestAborted);
            return Results.Stream(stream, "application/octet-stream", $"{found.Name}-{found.Version}.onnx");
        })
            .Describe("A model version's .onnx file", "The bytes as stored, with their SHA-256 (lower-case hex) in the X-Stratus-Sha256 header; a cloud's init container fetches its copy here and checks it before a replica loads it.")
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream");

        return api;
    }

    /// <summary>
    /// Stores samples with a version (those it has are skipped) and audits the new ones as <c>model.samples</c>;
    /// <see cref="ModelRejectedException"/> when one does not fit or there is no room for them.
    /// </summary>
    public static async Task StoreSamplesAsync(ControlPlaneServices services, ModelVersion version, IReadOnlyList<string> samples, string source, string actor, string? deployment, CancellationToken cancellationToken)
    {
        if (await services.Models.AddSamplesAsync(version, samples, source, cancellationToken) is var added and > 0)
        {
            var after = deployment is null ? JsonSerializer.Serialize(new { added, source }, ControlPlaneApi.Json) : JsonSerializer.Serialize(new { added, source, deployment }, ControlPlaneApi.Json);
            await services.Audit.AppendAsync(actor, "model.samples", $"{version.Name}/{version.Version}", null, after, cancellationToken);
        }
    }

    private static SampleView View(ModelSample sample)
    {
        using var document = JsonDocument.Parse(sample.Body);
        return new SampleView(sample.Seq, sample.Sha256, sample.Source, sample.CreatedAt, document.RootElement.Clone());
    }

    private static IResult NoSuchVersion(string name, int version) => Problem(StatusCodes.Status404NotFound, "no such model version", $"model '{name}' has no version {version}");

    /// <summary>The body as sample requests (one v2 request, or an array of them), or the 400 or 413 to answer.</summary>
    private static async Task<(IReadOnlyList<string> Samples, IResult? Problem)> ReadSamplesAsync(HttpContext context)
    {
        var (body, problem) = await ReadTextAsync(context, ModelRegistry.MaxSampleBytes, Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"samples may be at most {ModelRegistry.MaxSampleBytes} bytes at once"));
        if (problem is not null)
        {
            return ([], problem);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind switch
            {
                JsonValueKind.Array => ([.. document.RootElement.EnumerateArray().Select(e => e.GetRawText())], null),
                JsonValueKind.Object => ([document.RootElement.GetRawText()], null),
                _ => ([], Problem(StatusCodes.Status400BadRequest, "malformed samples", "the body must be a v2 inference request or an array of them")),
            };
        }
        catch (JsonException e)
        {
            return ([], Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
    }
}
