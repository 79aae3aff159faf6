using System.Net;

namespace Stratus.Client;

/// <summary>The control plane or the gateway answered with an error; <see cref="Exception.Message"/> is its explanation.</summary>
public sealed class StratusApiException(HttpStatusCode status, string title, string detail)
    : Exception(string.IsNullOrEmpty(detail) ? title : $"{title}: {detail}")
{
    public HttpStatusCode Status { get; } = status;

    public string Title { get; } = title;

    public string Detail { get; } = detail;
}
