using System.CommandLine;
using Stratus.Cli.Commands;
using Stratus.Inference.Batching;

namespace Stratus.Cli.Tests.Commands;

/// <summary>Real command lines through the real parser.</summary>
public sealed class ReplicaCommandTests
{
    private readonly TestInteraction _interaction = new();

    private (ReplicaCommand Command, ParseResult Parse) Parse(string commandLine)
    {
        var root = StratusCli.BuildRoot(_interaction);
        var parse = root.Parse(commandLine);
        return ((ReplicaCommand)root.Subcommands.Single(c => c.Name == "replica"), parse);
    }

    [Fact]
    public void Parse_EveryOption_ReachesTheReplicaOptions()
    {
        var (command, parse) = Parse(
            "replica --model m.onnx --name risk --version 3 --host 0.0.0.0 --port 0 --max-body-bytes 1024 " +
            "--batching off --max-batch-size 8 --max-queue-delay-us 500 --instances 2 --max-queue-size 10 --intra-op-threads 1 --allow-spinning");

        Assert.Empty(parse.Errors);
        var options = command.ToOptions(parse);
        Assert.EndsWith("m.onnx", options.ModelPath, StringComparison.Ordinal);
        Assert.True(Path.IsPathRooted(options.ModelPath));
        Assert.Equal("risk", options.ModelName);
        Assert.Equal("3", options.ModelVersion);
        Assert.Equal("0.0.0.0", options.Host);
        Assert.Equal(0, options.Port);
        Assert.Equal(1024, options.MaxRequestBodyBytes);
        Assert.Equal(BatchingMode.Off, options.Batching.Mode);
        Assert.Equal(8, options.Batching.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMicroseconds(500), options.Batching.MaxQueueDelay);
        Assert.Equal(2, options.Batching.Instances);
        Assert.Equal(10, options.Batching.MaxQueueSize);
        Assert.Equal(1, options.Session.IntraOpThreads);
        Assert.True(options.Session.AllowSpinning);
    }

    [Fact]
    public void Parse_Defaults_AreTheDocumentedOnes()
    {
        var (command, parse) = Parse("replica --model m.onnx --name risk");

        var options = command.ToOptions(parse);
        Assert.Equal("1", options.ModelVersion);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal(8000, options.Port);
        Assert.Equal(BatchingMode.Auto, options.Batching.Mode);
        Assert.Equal(32, options.Batching.MaxBatchSize);
        Assert.Equal(TimeSpan.Zero, options.Batching.MaxQueueDelay);
        Assert.Equal(64L * 1024 * 1024, options.MaxRequestBodyBytes);
    }

    [Theory]
    [InlineData("replica --name risk", "--model")]
    [InlineData("replica --model m.onnx", "--name")]
    [InlineData("replica --model m.onnx --name r --batching sometimes", "sometimes")]
    [InlineData("replica --model m.onnx --name r --port eighty", "eighty")]
    public void Parse_BadCommandLines_ReportTheProblem(string commandLine, string expected)
    {
        var (_, parse) = Parse(commandLine);

        Assert.Contains(parse.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_Logs_NeedsNoneOfTheServingOptions()
    {
        var (_, parse) = Parse("replica logs risk-1a2b --lines 5");

        Assert.Empty(parse.Errors);
        Assert.Equal("logs", parse.CommandResult.Command.Name);
        Assert.Equal("risk-1a2b", parse.GetValue<string>("id"));
        Assert.Equal(5, parse.GetValue<int>("--lines"));
        Assert.Equal(100, Parse("replica logs risk-1a2b").Parse.GetValue<int>("--lines"));
    }

    [Theory]
    [InlineData("replica logs", "Required argument missing")]
    [InlineData("replica logs risk-1 --lines many", "many")]
    public void Parse_BadLogsCommandLines_ReportTheProblem(string commandLine, string expected)
    {
        var (_, parse) = Parse(commandLine);

        Assert.Contains(parse.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invoke_MissingModelFile_ExitsWithInvalidArguments()
    {
        var (_, parse) = Parse("replica --model /nonexistent/m.onnx --name risk --port 0");

        var exit = await parse.InvokeAsync();

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains(_interaction.Errors, e => e.Contains("does not exist", StringComparison.Ordinal));
    }
}
