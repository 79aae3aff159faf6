namespace Stratus.Cli;

/// <summary>Exit codes of <c>stratus</c>, named so scripts and tests can tell failures apart.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidArguments = 2;
    public const int ModelLoadFailed = 3;
    public const int ListenFailed = 4;

    /// <summary>The model file's SHA-256 is not the one <c>stratus replica --sha256</c> was given.</summary>
    public const int ArtifactMismatch = 7;

    /// <summary>The control plane refused the token (401) or its role (403).</summary>
    public const int Unauthorized = 5;

    /// <summary>The control plane or the gateway could not be reached.</summary>
    public const int Unreachable = 6;
}
