using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers.Docker;

/// <summary>
/// A docker cloud's part of <c>clouds.yaml</c>: one Docker Engine, reached over its unix socket
/// (<c>unix:///var/run/docker.sock</c>) or over TCP, where TLS client certificates prove who calls.
/// </summary>
/// <param name="Endpoint">The engine's address: <c>unix://PATH</c> or <c>tcp://HOST:PORT</c>.</param>
/// <param name="Tls">The client certificate, its key and the CA that signed the engine's certificate; required for a TCP endpoint.</param>
/// <param name="Image">The replica image to run; null for the one <c>stratus image build</c> makes for this build of Stratus.</param>
/// <param name="AdvertiseHost">
/// Where the engine's host answers: replicas run with host networking, bound to this address, and gateways reach them
/// there. 127.0.0.1 for an engine on this machine.
/// </param>
public sealed record DockerCloudSettings(Uri Endpoint, DockerTls? Tls, string? Image, string AdvertiseHost) : CloudProviderSettings
{
    public bool IsLocalEngine => Endpoint.Scheme == "unix";
}

/// <summary>The files of a TCP engine's TLS: the client's certificate and key (PEM) and the CA that signed the engine's certificate.</summary>
public sealed record DockerTls(string CaFile, string CertificateFile, string KeyFile);
