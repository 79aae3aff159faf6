namespace Stratus.ControlPlane.Tests.Store;

/// <summary>A temporary folder, removed (after <paramref name="then"/>, when given) on dispose.</summary>
internal sealed class TempFolder(IAsyncDisposable? then = null) : IAsyncDisposable
{
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"stratus-test-{Guid.NewGuid():N}")).FullName;

    public async ValueTask DisposeAsync()
    {
        if (then is not null)
        {
            await then.DisposeAsync();
        }

        Directory.Delete(Path, recursive: true);
    }
}
