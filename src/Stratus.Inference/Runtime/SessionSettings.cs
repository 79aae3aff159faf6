namespace Stratus.Inference.Runtime;

/// <summary>How an ONNX Runtime session is set up for a replica.</summary>
public sealed class SessionSettings
{
    /// <summary>Threads for parallelism inside one operator; 0 picks <see cref="DefaultIntraOpThreads"/>.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work. Spinning shaves microseconds off a run but burns a core
    /// per thread while idle, which starves the other replicas and the HTTP server on a shared machine; off by default.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>
    /// Whether ONNX Runtime also writes its warnings to standard error. Model validation reads them: an allocation
    /// that fails while it folds constants at load is only a warning (it skips that node), yet it says the model
    /// asked for more memory than the validation's limit.
    /// </summary>
    public bool LogWarnings { get; set; }

    /// <summary>
    /// A replica shares its machine with other replicas and its own HTTP threads, so it takes at most four cores
    /// rather than ONNX Runtime's default of every physical core.
    /// </summary>
    public static int DefaultIntraOpThreads => Math.Clamp(Environment.ProcessorCount, 1, 4);

    public int EffectiveIntraOpThreads => IntraOpThreads > 0 ? IntraOpThreads : DefaultIntraOpThreads;
}
