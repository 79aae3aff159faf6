using System.Diagnostics;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// <c>stratus</c> run as a real child process (a server, a gateway), up once it prints "ready at URL"; killed with
/// SIGKILL by <see cref="KillAsync"/>, as a crash would, and on dispose if it still runs.
/// </summary>
internal sealed class StratusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _errors = new();

    private StratusProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>stratus ARGS</c> and waits (a minute at most) for its "ready at" line.</summary>
    public static async Task<StratusProcess> StartAsync(params string[] arguments)
    {
        var process = ServerProcess.Run(arguments);
        try
        {
            var started = new StratusProcess(process, await ServerProcess.ReadyAtAsync(process));
            started.Drain();
            return started;
        }
        catch
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
            throw;
        }
    }

    /// <summary>What it wrote to stderr so far, for a failing test's message.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>SIGKILL, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>Keeps reading both pipes, so a chatty process never blocks on a full one.</summary>
    private void Drain()
    {
        _ = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is not null)
            {
            }
        });
        _ = Task.Run(async () =>
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_errors)
                {
                    _errors.AppendLine(line);
                }
            }
        });
    }
}
