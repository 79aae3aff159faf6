using System.Diagnostics;
using System.Formats.Tar;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Stratus.ControlPlane.Providers.Docker;

/// <summary>What <see cref="ReplicaImage.BuildAsync"/> wrote: the archive, its tag, and the digests an engine will know it by.</summary>
/// <param name="ImageId">The config's digest (<c>sha256:…</c>): the id <c>docker images</c> shows once it is loaded.</param>
/// <param name="ManifestDigest">The OCI manifest's digest: what a registry would serve the image by.</param>
/// <param name="LayerDigest">The one layer's digest (uncompressed, so also its diff id).</param>
public sealed record ReplicaImageBuild(string Archive, string Tag, string ImageId, string ManifestDigest, string LayerDigest, long LayerBytes, bool SelfContained);

/// <summary>
/// The replica image, assembled from scratch: no base image is pulled (the machines that build it may reach no
/// registry). Its one layer holds the stratus program, the .NET runtime it runs on when it is framework-dependent,
/// the native libraries every ELF file in it links (as <c>ldd</c> resolves them here, the dynamic loader included),
/// <c>/tmp</c>, and an <c>/etc/passwd</c> with the non-root user the container runs as. The archive is at once an OCI
/// image layout (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/…</c>) and a <c>docker save</c> archive
/// (<c>manifest.json</c>), which every engine's <c>POST /images/load</c> accepts. Entries are sorted and carry fixed
/// times and owners, so the same files give the same digests.
/// </summary>
public static partial class ReplicaImage
{
    public const string Repository = "stratus-replica";

    /// <summary>The user (uid:gid) replicas run as: no root inside the container.</summary>
    public const string User = "10001:10001";

    /// <summary>Where the program lives in the image.</summary>
    public const string AppDirectory = "/app";

    /// <summary>Where the .NET runtime lives in the image of a framework-dependent program.</summary>
    public const string DotnetRoot = "/usr/share/dotnet";

    private const string LayerMediaType = "application/vnd.oci.image.layer.v1.tar";
    private const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";
    private const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    private static readonly DateTimeOffset FixedTime = DateTimeOffset.FromUnixTimeSeconds(0);
    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Regular = (UnixFileMode)0b110_100_100;

    /// <summary>This build's version (the informational version, the commit included), as a tag allows it.</summary>
    public static string Version { get; } = TagSafe(typeof(ReplicaImage).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    /// <summary>The image a docker cloud runs when its <c>clouds.yaml</c> entry names none: this build's.</summary>
    public static string DefaultTag { get; } = $"{Repository}:{Version}";

    /// <summary>
    /// Writes the image archive to <paramref name="output"/> and its digests to <c>OUTPUT.json</c>. The program comes
    /// from <paramref name="programDirectory"/> (the running program's folder when null): a framework-dependent
    /// build gets the runtime it runs on here, a self-contained one (<c>dotnet publish -r linux-x64 --self-contained</c>) runs as it is.
    /// </summary>
    public static async Task<ReplicaImageBuild> BuildAsync(string output, string? programDirectory, string? tag, CancellationToken cancellationToken = default)
    {
        var program = Path.GetFullPath(programDirectory ?? AppContext.BaseDirectory);
        tag ??= DefaultTag;
        if (!TagPattern().IsMatch(tag))
        {
            throw new ArgumentException($"'{tag}' is not an image tag (NAME:TAG, lower-case name, tag of letters, digits, '_', '.', '-')", nameof(tag));
        }

        var selfContained = File.Exists(Path.Combine(program, "libcoreclr.so"));
        if (!File.Exists(Path.Combine(program, selfContained ? "stratus" : "stratus.dll")))
        {
            throw new ArgumentException($"{program} holds no stratus program ({(selfContained ? "stratus" : "stratus.dll")})", nameof(programDirectory));
        }

        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        AddTree(files, program, AppDirectory.TrimStart('/'), relative => KeepForLinux(relative) && NotOptional(relative));
        if (!selfContained)
        {
            AddRuntime(files);
        }

        await AddNativeDependenciesAsync(files, cancellationToken);
        string[] entrypoint = selfContained
            ? [$"{AppDirectory}/stratus"]
            : [$"{DotnetRoot}/dotnet", $"{AppDirectory}/stratus.dll"];

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        var layerFile = output + ".layer.tmp";
        try
        {
            await using (var layer = File.Create(layerFile))
            {
                await WriteLayerAsync(layer, files, cancellationToken);
            }

            var (layerDigest, layerBytes) = await DigestAsync(layerFile, cancellationToken);
            var config = Json(new JsonObject
            {
                ["architecture"] = "amd64",
                ["os"] = "linux",
                ["created"] = "1970-01-01T00:00:00Z",
                ["config"] = new JsonObject
                {
                    ["User"] = User,
                    ["Env"] = new JsonArray(
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        $"DOTNET_ROOT={DotnetRoot}",
                        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1",
                        "DOTNET_CLI_TELEMETRY_OPTOUT=1",
                        "HOME=/tmp"),
                    ["Entrypoint"] = new JsonArray([.. entrypoint.Select(e => JsonValue.Create(e))]),
                    ["WorkingDir"] = "/tmp",
                    ["Labels"] = new JsonObject { ["org.opencontainers.image.version"] = Version, ["org.opencontainers.image.title"] = "stratus replica" },
                },
                ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(layerDigest) },
                ["history"] = new JsonArray(new JsonObject { ["created"] = "1970-01-01T00:00:00Z", ["created_by"] = "stratus image build" }),
            });
            var configDigest = Digest(config);
            var manifest = Json(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = ManifestMediaType,
                ["config"] = new JsonObject { ["mediaType"] = ConfigMediaType, ["digest"] = configDigest, ["size"] = config.Length },
                ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = LayerMediaType, ["digest"] = layerDigest, ["size"] = layerBytes }),
            });
            var manifestDigest = Digest(manifest);
            var index = Json(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = "application/vnd.oci.image.index.v1+json",
                ["manifests"] = new JsonArray(new JsonObject
                {
                    ["mediaType"] = ManifestMediaType,
                    ["digest"] = manifestDigest,
                    ["size"] = manifest.Length,
                    ["annotations"] = new JsonObject { ["io.containerd.image.name"] = tag, ["org.opencontainers.image.ref.name"] = tag[(tag.LastIndexOf(':') + 1)..] },
                }),
            });
            var dockerManifest = Json(new JsonArray(new JsonObject
            {
                ["Config"] = BlobPath(configDigest),
                ["RepoTags"] = new JsonArray(tag),
                ["Layers"] = new JsonArray(BlobPath(layerDigest)),
            }));

            await using (var archive = File.Create(output))
            await using (var writer = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: false))
            {
                await WriteDirectoryAsync(writer, "blobs/", cancellationToken);
                await WriteDirectoryAsync(writer, "blobs/sha256/", cancellationToken);
                await WriteBlobAsync(writer, BlobPath(configDigest), config, cancellationToken);
                await using (var layer = File.OpenRead(layerFile))
                {
                    await WriteFileAsync(writer, BlobPath(layerDigest), layer, Regular, cancellationToken);
                }

                await WriteBlobAsync(writer, BlobPath(manifestDigest), manifest, cancellationToken);
                await WriteBlobAsync(writer, "index.json", index, cancellationToken);
                await WriteBlobAsync(writer, "manifest.json", dockerManifest, cancellationToken);
                await WriteBlobAsync(writer, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"), cancellationToken);
            }

            var build = new ReplicaImageBuild(Path.GetFullPath(output), tag, configDigest, manifestDigest, layerDigest, layerBytes, selfContained);
            await File.WriteAllTextAsync(output + ".json", JsonSerializer.Serialize(build, RecordJson), cancellationToken);
            return build;
        }
        finally
        {
            File.Delete(layerFile);
        }
    }

    private static readonly JsonSerializerOptions RecordJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The version with what a tag may not hold ('+' before the commit, above all) made '-'.</summary>
    internal static string TagSafe(string version)
    {
        var safe = TagCharacters().Replace(version, "-").TrimStart('.', '-');
        return safe.Length == 0 ? "0" : safe[..Math.Min(safe.Length, 128)];
    }

    [GeneratedRegex("[^A-Za-z0-9_.-]")]
    private static partial Regex TagCharacters();

    [GeneratedRegex("^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    /// <summary>Native assets of other platforms (runtimes/win-x64, osx-arm64, linux-arm64 …) have no place in a linux-x64 image.</summary>
    private static bool KeepForLinux(string relative)
    {
        var parts = relative.Split('/');
        return parts.Length < 2 || parts[0] != "runtimes" || parts[1] is "linux-x64" or "linux" or "unix";
    }

    /// <summary>
    /// The runtime's LTTng trace provider is loaded only where liblttng-ust is installed, which the image has not: it
    /// would only drag that library in, or fail the build on machines without it.
    /// </summary>
    private static bool NotOptional(string relative) => Path.GetFileName(relative) != "libcoreclrtraceptprovider.so";

    /// <summary>The muxer, hostfxr and the two shared frameworks this process runs on, from its dotnet root.</summary>
    private static void AddRuntime(SortedDictionary<string, string> files)
    {
        var netCore = Path.TrimEndingDirectorySeparator(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        var aspNetCore = Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Builder.WebApplication).Assembly.Location)!;
        var root = Path.GetFullPath(Path.Combine(netCore, "..", "..", ".."));
        var image = DotnetRoot.TrimStart('/');
        files[$"{image}/dotnet"] = Path.Combine(root, "dotnet");
        var fxr = Directory.GetDirectories(Path.Combine(root, "host", "fxr")).OrderBy(d => System.Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : new System.Version()).Last();
        AddTree(files, fxr, $"{image}/host/fxr/{Path.GetFileName(fxr)}", _ => true);
        AddTree(files, netCore, $"{image}/shared/Microsoft.NETCore.App/{Path.GetFileName(netCore)}", NotOptional);
        AddTree(files, aspNetCore, $"{image}/shared/Microsoft.AspNetCore.App/{Path.GetFileName(aspNetCore)}", _ => true);
    }

    private static void AddTree(SortedDictionary<string, string> files, string source, string target, Func<string, bool> keep)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file).Replace('\\', '/');
            if (keep(relative))
            {
                files[$"{target}/{relative}"] = file;
            }
        }
    }

    /// <summary>Adds what <c>ldd</c> says each x86-64 ELF file needs, at the path it resolved, until nothing new is found.</summary>
    private static async Task AddNativeDependenciesAsync(SortedDictionary<string, string> files, CancellationToken cancellationToken)
    {
        foreach (var library in OpenSslLibraries())
        {
            files.TryAdd(library.TrimStart('/'), library);
        }

        var pending = new Queue<string>(files.Values.Where(IsElf));
        var seen = new HashSet<string>(pending, StringComparer.Ordinal);
        while (pending.TryDequeue(out var elf))
        {
            foreach (var library in await LddAsync(elf, cancellationToken))
            {
                var inImage = library.TrimStart('/');
                if (files.TryAdd(inImage, library) && seen.Add(library))
                {
                    pending.Enqueue(library);
                }
            }
        }
    }

    /// <summary>
    /// libssl and libcrypto, which .NET's cryptography (the replica's SHA-256 check) opens at run time, so no ELF file
    /// names them: the ones this process has loaded, after hashing once to be sure it has.
    /// </summary>
    private static IReadOnlyList<string> OpenSslLibraries()
    {
        SHA256.HashData("stratus"u8);
        return File.Exists("/proc/self/maps")
            ? [.. File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? line[at..] : string.Empty)
                .Where(path => Path.GetFileName(path).StartsWith("libssl.so", StringComparison.Ordinal) || Path.GetFileName(path).StartsWith("libcrypto.so", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)]
            : [];
    }

    private static async Task<IReadOnlyList<string>> LddAsync(string elf, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(elf);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"the replica image needs ldd to find the native libraries of {elf}: {e.Message}", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            _ = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var libraries = new List<string>();
            foreach (var line in (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (line.Contains("not found", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{elf} needs a library this machine lacks: {line}");
                }

                // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"; linux-vdso has no file.
                var path = line.Contains("=>", StringComparison.Ordinal) ? line[(line.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim() : line;
                path = path.Split(' ')[0];
                if (path.StartsWith('/') && File.Exists(path))
                {
                    libraries.Add(path);
                }
            }

            return libraries;
        }
    }

    /// <summary>An ELF file for x86-64 (e_machine 62): the only kind this image can run.</summary>
    private static bool IsElf(string path)
    {
        Span<byte> header = stackalloc byte[20];
        using var stream = File.OpenRead(path);
        return stream.Read(header) == 20 && header[0] == 0x7F && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F' && header[18] == 62 && header[19] == 0;
    }

    private static async Task WriteLayerAsync(Stream layer, SortedDictionary<string, string> files, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(layer, TarEntryFormat.Ustar, leaveOpen: true);
        var entries = new SortedDictionary<string, string?>(StringComparer.Ordinal)
        {
            ["etc/"] = null,
            ["tmp/"] = null,
            ["etc/passwd"] = null,
            ["etc/group"] = null,
        };
        foreach (var (path, source) in files)
        {
            entries[path] = source;
            for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                entries.TryAdd(path[..(slash + 1)], null);
            }
        }

        var user = User.Split(':');
        var generated = new Dictionary<string, byte[]>
        {
            ["etc/passwd"] = Encoding.UTF8.GetBytes($"root:x:0:0:root:/root:/sbin/nologin\nstratus:x:{user[0]}:{user[1]}:stratus replica:/tmp:/sbin/nologin\n"),
            ["etc/group"] = Encoding.UTF8.GetBytes($"root:x:0:\nstratus:x:{user[1]}:\n"),
        };
        foreach (var (path, source) in entries)
        {
            if (path.EndsWith('/'))
            {
                // /tmp is world-writable and sticky, as everywhere; the container mounts a tmpfs over it.
                await WriteDirectoryAsync(writer, path, cancellationToken, path == "tmp/" ? (UnixFileMode)0b1_111_111_111 : Executable);
            }
            else if (source is null)
            {
                await WriteBlobAsync(writer, path, generated[path], cancellationToken);
            }
            else
            {
                await using var stream = File.OpenRead(source);
                var mode = (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(source) & UnixFileMode.UserExecute) != 0) || path.EndsWith(".so", StringComparison.Ordinal) || path.Contains(".so.", StringComparison.Ordinal) ? Executable : Regular;
                await WriteFileAsync(writer, path, stream, mode, cancellationToken);
            }
        }
    }

    private static Task WriteDirectoryAsync(TarWriter writer, string path, CancellationToken cancellationToken, UnixFileMode mode = Executable) =>
        writer.WriteEntryAsync(Fixed(new UstarTarEntry(TarEntryType.Directory, path), mode), cancellationToken);

    private static async Task WriteBlobAsync(TarWriter writer, string path, byte[] content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content, writable: false);
        await WriteFileAsync(writer, path, stream, Regular, cancellationToken);
    }

    private static Task WriteFileAsync(TarWriter writer, string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var entry = Fixed(new UstarTarEntry(TarEntryType.RegularFile, path), mode);
        entry.DataStream = content;
        return writer.WriteEntryAsync(entry, cancellationToken);
    }

    private static UstarTarEntry Fixed(UstarTarEntry entry, UnixFileMode mode)
    {
        entry.ModificationTime = FixedTime;
        entry.Mode = mode;
        entry.Uid = 0;
        entry.Gid = 0;
        entry.UserName = "root";
        entry.GroupName = "root";
        return entry;
    }

    private static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    private static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static async Task<(string Digest, long Bytes)> DigestAsync(string file, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(file);
        return ("sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken)), stream.Length);
    }

    private static string BlobPath(string digest) => "blobs/sha256/" + digest["sha256:".Length..];
}
