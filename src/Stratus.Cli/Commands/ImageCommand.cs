using System.CommandLine;
using Stratus.Cli.Interaction;
using Stratus.ControlPlane.Providers.Docker;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus image build</c>: the replica image of docker clouds, assembled from scratch (no base image is pulled).</summary>
internal sealed class ImageCommand : Command
{
    public ImageCommand(IInteraction interaction)
        : base("image", "The replica image that docker clouds run.")
    {
        var output = new Option<FileInfo>("--output") { Description = "Where to write the image archive (OCI layout and docker-save in one tar); its digests go to OUTPUT.json.", DefaultValueFactory = _ => new FileInfo("stratus-replica.tar") };
        var from = new Option<DirectoryInfo>("--from") { Description = "The program to put in the image: a 'dotnet publish -r linux-x64 --self-contained' folder (default: this program and the .NET runtime it runs on)." };
        var tag = new Option<string>("--tag") { Description = $"The image's name and tag (default {ReplicaImage.DefaultTag})." };
        var load = new Option<string>("--load") { Description = "Also load the image into this Docker Engine (unix:///var/run/docker.sock, tcp://HOST:2376)." };
        var tlsCa = new Option<FileInfo>("--tls-ca") { Description = "For a tcp --load engine: the CA that signed the engine's certificate (PEM)." };
        var tlsCert = new Option<FileInfo>("--tls-cert") { Description = "For a tcp --load engine: this client's certificate (PEM)." };
        var tlsKey = new Option<FileInfo>("--tls-key") { Description = "For a tcp --load engine: this client's key (PEM)." };
        var build = new Command("build", "Build the replica image archive, deterministically: the same program gives the same digests.") { output, from, tag, load, tlsCa, tlsCert, tlsKey };
        build.SetAction(async (parse, cancellationToken) =>
        {
            var tls = (parse.GetValue(tlsCa), parse.GetValue(tlsCert), parse.GetValue(tlsKey)) switch
            {
                ({ } ca, { } cert, { } key) => new DockerTls(ca.FullName, cert.FullName, key.FullName),
                (null, null, null) => null,
                _ => (DockerTls?)new DockerTls(string.Empty, string.Empty, string.Empty),
            };
            if (tls is { CaFile.Length: 0 })
            {
                interaction.Error("--tls-ca, --tls-cert and --tls-key go together");
                return ExitCodes.InvalidArguments;
            }

            Uri? endpoint = null;
            if (parse.GetValue(load) is { } given && (!Uri.TryCreate(given, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("unix" or "tcp")))
            {
                interaction.Error($"--load {given} is not an engine endpoint (unix:///PATH or tcp://HOST:PORT)");
                return ExitCodes.InvalidArguments;
            }

            if (parse.GetValue(from) is { Exists: false } missing)
            {
                interaction.Error($"--from {missing.FullName} does not exist");
                return ExitCodes.InvalidArguments;
            }

            ReplicaImageBuild image;
            try
            {
                image = await ReplicaImage.BuildAsync(parse.GetValue(output)!.FullName, parse.GetValue(from)?.FullName, parse.GetValue(tag), cancellationToken);
            }
            catch (ArgumentException e)
            {
                interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }
            catch (InvalidOperationException e)
            {
                interaction.Error(e.Message);
                return ExitCodes.Failure;
            }

            interaction.Field("image", image.Tag);
            interaction.Field("image id", image.ImageId);
            interaction.Field("manifest", image.ManifestDigest);
            interaction.Field("layer", $"{image.LayerDigest} ({image.LayerBytes / (1024.0 * 1024):F1} MiB, {(image.SelfContained ? "self-contained" : "with the .NET runtime")})");
            interaction.Field("archive", image.Archive);
            interaction.Field("digests", image.Archive + ".json");
            if (endpoint is not null)
            {
                try
                {
                    using var client = DockerEngines.Connect(endpoint, tls);
                    await DockerEngines.LoadImageAsync(client, image.Archive, cancellationToken);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or HttpRequestException or IOException or System.Net.Sockets.SocketException or global::Docker.DotNet.DockerApiException)
                {
                    interaction.Error($"loading into {endpoint}: {e.Message}");
                    return ExitCodes.Unreachable;
                }

                interaction.Field("loaded", endpoint.ToString());
            }

            return ExitCodes.Success;
        });
        Subcommands.Add(build);
    }
}
