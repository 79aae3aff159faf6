using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Api;

/// <summary>
/// Reads a model push: the .onnx file as the whole body, or a multipart/form-data body with a <c>model</c> part and
/// <c>sample</c> parts in any order. The model part streams to a staged file (it may be gigabytes); samples are read
/// into memory within their limit. Nothing is stored unless the model loads and every sample fits its signature.
/// </summary>
internal static class ModelUploads
{
    public static async Task<ModelVersion> PushAsync(HttpContext context, ModelRegistry registry, string name, string actor)
    {
        var cancellationToken = context.RequestAborted;
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return await registry.PushAsync(name, context.Request.Body, actor, [], ModelRegistry.DefaultMaxModelBytes, cancellationToken);
        }

        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            throw new ModelRejectedException("a multipart/form-data push needs a boundary");
        }

        ModelNames.Validate(name);
        var reader = new MultipartReader(boundary, context.Request.Body) { BodyLengthLimit = ModelRegistry.DefaultMaxModelBytes };
        StagedContent? staged = null;
        var samples = new List<string>();
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                var part = ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) ? HeaderUtilities.RemoveQuotes(disposition.Name).Value : null;
                switch (part)
                {
                    case "model" when staged is null:
                        staged = await registry.StageAsync(section.Body, ModelRegistry.DefaultMaxModelBytes, cancellationToken);
                        break;
                    case "model":
                        throw new ModelRejectedException("a push carries one 'model' part");
                    case "sample":
                        samples.Add(await ReadSampleAsync(section.Body, samples.Count + 1, cancellationToken));
                        break;
                    default:
                        throw new ModelRejectedException($"unknown part '{part}': a push has one 'model' part and any number of 'sample' parts");
                }
            }

            if (staged is null)
            {
                throw new ModelRejectedException("the push has no 'model' part");
            }

            var registered = staged;
            staged = null;
            return await registry.RegisterAsync(name, registered, samples, actor, cancellationToken);
        }
        finally
        {
            if (staged is not null)
            {
                File.Delete(staged.Path);
            }
        }
    }

    private static async Task<string> ReadSampleAsync(Stream body, int index, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > ModelRegistry.MaxSampleBytes)
            {
                throw new ModelRejectedException($"sample {index} is larger than the limit of {ModelRegistry.MaxSampleBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
