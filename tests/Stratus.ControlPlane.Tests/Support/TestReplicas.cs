using Stratus.ControlPlane.Providers;

namespace Stratus.ControlPlane.Tests.Support;

/// <summary>The real `stratus` built beside the tests (the project references Stratus.Cli), started as <c>dotnet stratus.dll</c>.</summary>
internal static class TestReplicas
{
    public static ReplicaExecutable Executable { get; } = new("dotnet", [Path.Combine(AppContext.BaseDirectory, "stratus.dll")]);
}
