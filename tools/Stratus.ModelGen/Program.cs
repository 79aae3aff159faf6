using System.Globalization;
using Stratus.ModelGen.Models;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen;

/// <summary>
/// Generates Stratus's sample ONNX models, fixtures and request bodies.
/// Usage: <c>dotnet run --project tools/Stratus.ModelGen -c Release -- --out models</c>
/// </summary>
internal static class Program
{
    private const string Usage = "usage: Stratus.ModelGen [--out <directory>]   (default: models)";

    public static int Main(string[] args)
    {
        var outPath = "models";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out" or "-o" when i + 1 < args.Length:
                    outPath = args[++i];
                    break;
                case "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    Console.Error.WriteLine($"unexpected argument '{args[i]}'");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        var output = new OutputDirectory(outPath);
        var log = Console.Out;
        log.WriteLine($"writing to {output.Path}");

        var credit = CreditRiskModel.Write(output, log);
        CreditRiskModel.WriteRetrained(output, log);
        MlpLargeModel.Write(output);
        MultiInputModel.Write(output);
        AllTypesModel.Write(output);
        ScaleModel.Write(output);
        StateModel.Write(output);
        SequenceModel.Write(output);
        NondeterministicModel.Write(output);
        CorruptModel.Write(output, File.ReadAllBytes(Path.Combine(output.Path, CreditRiskModel.FileName)));
        ReadmeWriter.Write(output, credit);

        log.WriteLine();
        foreach (var file in output.Files)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name,-28} {file.Size,10:N0} B  {file.Sha256}"));
        }

        return 0;
    }
}
