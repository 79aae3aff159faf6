using Stratus.Inference.Runtime;

namespace Stratus.Bench;

/// <summary>
/// Helpers for bench/replica-load.sh.
/// <c>direct</c>: time in-process ONNX Runtime runs of the request's row repeated to each batch size.
/// <c>body</c>: write the v2 JSON request body for a batch of that row repeated.
/// <c>planner</c>: planning time for many random deployments over many clouds, against a greedy reference.
/// <c>docker-startup</c>: deploy-to-ready of a docker cloud's replica against a local one's, alternating.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: Stratus.Bench direct --model <file.onnx> --request <request.json> [--batch 1,8] [--runs 3000] [--warmup 300]
                                    [--intra-op-threads 0] [--allow-spinning false] [--name mlp]
               Stratus.Bench body --request <request.json> --batch <rows> --out <file.json>
               Stratus.Bench planner [--deployments 1000] [--clouds 50] [--seed 1]
               Stratus.Bench docker-startup --model <file.onnx> [--docker unix:///var/run/docker.sock] [--launches 7]
        direct: warm-up is at least --warmup calls and at least half a second; session settings as `stratus replica`.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length)
            {
                Console.Error.WriteLine($"unexpected argument '{args[i]}'");
                Console.Error.WriteLine(Usage);
                return 2;
            }

            options[args[i][2..]] = args[i + 1];
        }

        try
        {
            return args[0] switch
            {
                "direct" => Direct(options),
                "body" => Body(options),
                "planner" => PlannerBenchmark.Run(options),
                "docker-startup" => await StartupBenchmark.RunAsync(options),
                _ => throw new ArgumentException($"unknown mode '{args[0]}'"),
            };
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FormatException or IOException or InvalidDataException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private static int Direct(Dictionary<string, string> options)
    {
        var row = RequestRow.Load(options["request"]);
        var settings = new SessionSettings
        {
            IntraOpThreads = int.Parse(options.GetValueOrDefault("intra-op-threads", "0")),
            AllowSpinning = bool.Parse(options.GetValueOrDefault("allow-spinning", "false")),
        };
        using var host = OnnxModelHost.Load(options["model"], settings);
        Console.WriteLine($"# OnnxModelHost: intra-op threads {settings.EffectiveIntraOpThreads}, spinning {(settings.AllowSpinning ? "on" : "off")}");
        WarmUp.Run(host);
        var benchmark = new DirectBenchmark(host, row, options.GetValueOrDefault("name", "mlp"));
        var warmup = int.Parse(options.GetValueOrDefault("warmup", "300"));
        var runs = int.Parse(options.GetValueOrDefault("runs", "3000"));
        foreach (var rows in options.GetValueOrDefault("batch", "1,8").Split(','))
        {
            Console.WriteLine(benchmark.Measure(int.Parse(rows), warmup, runs));
        }

        return 0;
    }

    private static int Body(Dictionary<string, string> options)
    {
        var row = RequestRow.Load(options["request"]);
        File.WriteAllBytes(options["out"], row.ToRequestBody(int.Parse(options["batch"])));
        return 0;
    }
}
