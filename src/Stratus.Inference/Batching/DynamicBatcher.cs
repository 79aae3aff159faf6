using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;
using Stratus.Inference.Runtime;
using Stratus.Inference.Server;

namespace Stratus.Inference.Batching;

/// <summary>
/// The scheduler between requests and the model. Requests queue here; each model instance (a dedicated thread)
/// takes the oldest request plus every queued request whose non-batch dimensions match, up to the max batch size,
/// merges them along the batch dimension into one ONNX Runtime run, and splits the outputs back. With batching off
/// each run takes one request, so both modes share the same queueing, threads and metrics.
/// </summary>
public sealed partial class DynamicBatcher : IDisposable
{
    private readonly OnnxModelHost _model;
    private readonly BatchingOptions _options;
    private readonly ReplicaMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LinkedList<WorkItem> _queue = new();
    private readonly object _lock = new();
    private readonly Thread[] _workers;
    private volatile bool _batching;
    private int _idleInstances;
    private bool _disposed;

    public DynamicBatcher(OnnxModelHost model, BatchingOptions options, ReplicaMetrics? metrics, TimeProvider time, ILogger logger)
    {
        _model = model;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var verdict = BatchingAnalysis.Analyze(model.Signature);
        _batching = options.Mode switch
        {
            BatchingMode.Off => false,
            BatchingMode.On when !verdict.CanBatch => throw new ModelLoadException($"batching was asked for but cannot be correct: {verdict.Reason}"),
            _ => verdict.CanBatch && options.MaxBatchSize > 1,
        };
        Explanation = options.Mode == BatchingMode.Off ? "batching is off" : verdict.Reason;
        _workers = new Thread[Math.Max(1, options.Instances)];
        _idleInstances = _workers.Length;
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(RunWorker) { IsBackground = true, Name = $"stratus-model-{i}" };
            _workers[i].Start();
        }
    }

    /// <summary>Whether requests are being merged.</summary>
    public bool IsBatching => _batching;

    /// <summary>Why batching is on or off, for logs and the CLI.</summary>
    public string Explanation { get; private set; }

    /// <summary>
    /// Runs inputs (in signature order) and completes when their run has finished. When an instance is idle and
    /// nothing is queued, the run happens at once on the caller's thread: a thread hand-off each way costs tens of
    /// microseconds, as much as a small model's whole run. Otherwise the request queues for the instance threads,
    /// which is where batches form.
    /// </summary>
    public Task<InferenceResult> SubmitAsync(IReadOnlyList<InferTensor> inputs, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idleInstances == 0 || _queue.Count > 0 || (_batching && _options.MaxQueueDelay > TimeSpan.Zero))
            {
                if (_queue.Count >= _options.MaxQueueSize)
                {
                    throw InferenceException.Unavailable($"the model's queue is full ({_options.MaxQueueSize} requests waiting)");
                }

                var item = new WorkItem(inputs, _time.GetTimestamp(), cancellationToken);
                _queue.AddLast(item);
                Monitor.PulseAll(_lock);
                return item.Completion.Task;
            }

            _idleInstances--;
        }

        try
        {
            _metrics?.Queued(TimeSpan.Zero);
            return Task.FromResult(RunOne(inputs));
        }
        catch (Exception e)
        {
            return Task.FromException<InferenceResult>(e);
        }
        finally
        {
            ReleaseInstance();
        }
    }

    private void ReleaseInstance()
    {
        lock (_lock)
        {
            _idleInstances++;
            if (_queue.Count > 0)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }

    private void RunWorker()
    {
        var batch = new List<WorkItem>(_options.MaxBatchSize);
        while (TakeBatch(batch))
        {
            try
            {
                Execute(batch);
            }
            finally
            {
                batch.Clear();
                ReleaseInstance();
            }
        }
    }

    private bool TakeBatch(List<WorkItem> batch)
    {
        lock (_lock)
        {
            WorkItem? first = null;
            while (first is null)
            {
                // An instance thread takes work only while an instance is free; callers running inline hold one too.
                while (_queue.Count == 0 || _idleInstances == 0)
                {
                    if (_disposed)
                    {
                        return false;
                    }

                    Monitor.Wait(_lock);
                }

                first = _queue.First!.Value;
                _queue.RemoveFirst();
                if (first.Cancellation.IsCancellationRequested)
                {
                    first.Completion.TrySetCanceled(first.Cancellation);
                    first = null;
                }
            }

            _idleInstances--;
            batch.Add(first);
            if (!_batching)
            {
                return true;
            }

            var rows = first.Rows;
            var deadline = first.Enqueued + (long)(_options.MaxQueueDelay.TotalSeconds * _time.TimestampFrequency);
            while (true)
            {
                for (var node = _queue.First; node is not null && rows < _options.MaxBatchSize;)
                {
                    var next = node.Next;
                    var item = node.Value;
                    if (item.Cancellation.IsCancellationRequested)
                    {
                        _queue.Remove(node);
                        item.Completion.TrySetCanceled(item.Cancellation);
                    }
                    else if (rows + item.Rows <= _options.MaxBatchSize && item.CanJoin(first))
                    {
                        _queue.Remove(node);
                        batch.Add(item);
                        rows += item.Rows;
                    }

                    node = next;
                }

                var remaining = deadline - _time.GetTimestamp();
                if (rows >= _options.MaxBatchSize || remaining <= 0 || _disposed)
                {
                    return true;
                }

                // Monitor.Wait counts whole milliseconds and treats less as zero, which would spin: round up.
                Monitor.Wait(_lock, (int)Math.Min(int.MaxValue, Math.Ceiling(remaining * 1000.0 / _time.TimestampFrequency)));
            }
        }
    }

    private void Execute(List<WorkItem> batch)
    {
        // Callers that went away while the batch was gathering are not worth a run.
        batch.RemoveAll(item => item.Cancellation.IsCancellationRequested && item.Completion.TrySetCanceled(item.Cancellation));
        if (batch.Count == 0)
        {
            return;
        }

        var started = _time.GetTimestamp();
        foreach (var item in batch)
        {
            _metrics?.Queued(_time.GetElapsedTime(item.Enqueued, started));
        }

        if (batch.Count == 1)
        {
            RunAlone(batch[0]);
            return;
        }

        InferenceResult? merged = null;
        var rows = batch.Sum(i => i.Rows);
        try
        {
            using var mergedInputs = new TensorBuffers();
            var inputs = Merge(batch, rows, mergedInputs);
            merged = _model.Run(inputs);
            _metrics?.Ran(rows, _time.GetElapsedTime(started));
            var results = Split(batch, merged, rows);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(results[i]);
            }
        }
        catch (BatchShapeException e)
        {
            // The graph looked batchable but its outputs do not follow the batch: stop merging for good.
            _batching = false;
            Explanation = e.Message;
            LogBatchingDisabled(_logger, e.Message);
            batch.ForEach(RunAlone);
        }
        catch (Exception e)
        {
            // One bad request must not fail the others it was merged with: run each on its own to find it.
            LogMergedRunFailed(_logger, batch.Count, e.Message);
            batch.ForEach(RunAlone);
        }
        finally
        {
            merged?.Dispose();
        }
    }

    private void RunAlone(WorkItem item)
    {
        try
        {
            item.Completion.TrySetResult(RunOne(item.Inputs));
        }
        catch (Exception e)
        {
            item.Completion.TrySetException(e);
        }
    }

    /// <summary>One run of one request's inputs; failures come out as the <see cref="InferenceException"/> the caller sees.</summary>
    private InferenceResult RunOne(IReadOnlyList<InferTensor> inputs)
    {
        var started = _time.GetTimestamp();
        try
        {
            var result = _model.Run(inputs);
            _metrics?.Ran(RowsOf(inputs), _time.GetElapsedTime(started));
            return result;
        }
        catch (Exception e)
        {
            throw Classify(e);
        }
    }

    private static int RowsOf(IReadOnlyList<InferTensor> inputs) => inputs.Count > 0 && inputs[0].Shape.Length > 0 ? (int)inputs[0].Shape[0] : 1;

    private static Exception Classify(Exception e) => e switch
    {
        InferenceException => e,

        // ONNX Runtime says InvalidArgument when the inputs do not suit the graph (a symbolic dimension that must
        // agree across inputs, an index out of range): the caller's mistake, not the server's.
        OnnxRuntimeException when e.Message.Contains("InvalidArgument", StringComparison.Ordinal) =>
            InferenceException.BadRequest($"the model rejected the inputs: {e.Message}"),
        _ => new InferenceException(500, $"the model failed: {e.Message}"),
    };

    private static InferTensor[] Merge(List<WorkItem> batch, int rows, TensorBuffers buffers)
    {
        var first = batch[0].Inputs;
        var merged = new InferTensor[first.Count];
        for (var i = 0; i < first.Count; i++)
        {
            var shape = (long[])first[i].Shape.Clone();
            shape[0] = rows;
            if (first[i].DataType == TensorDataType.Bytes)
            {
                merged[i] = new InferTensor
                {
                    Name = first[i].Name,
                    DataType = first[i].DataType,
                    Shape = shape,
                    Elements = [.. batch.SelectMany(item => item.Inputs[i].Elements!)],
                };
                continue;
            }

            var total = batch.Sum(item => item.Inputs[i].Raw.Length);
            var buffer = buffers.Rent(total);
            var offset = 0;
            foreach (var item in batch)
            {
                item.Inputs[i].Raw.Span.CopyTo(buffer.AsSpan(offset));
                offset += item.Inputs[i].Raw.Length;
            }

            merged[i] = new InferTensor { Name = first[i].Name, DataType = first[i].DataType, Shape = shape, Raw = buffer.AsMemory(0, total) };
        }

        return merged;
    }

    private static InferenceResult[] Split(List<WorkItem> batch, InferenceResult merged, int rows)
    {
        foreach (var output in merged.Outputs)
        {
            if (output.Shape.Length == 0 || output.Shape[0] != rows)
            {
                throw new BatchShapeException(
                    $"output '{output.Name}' has shape {TensorSpec.FormatShape(output.Shape)} for a batch of {rows} rows, so it does not carry the batch dimension; batching turned off");
            }
        }

        var results = new InferenceResult[batch.Count];
        var startRow = 0;
        for (var b = 0; b < batch.Count; b++)
        {
            var itemRows = batch[b].Rows;
            var buffers = new TensorBuffers();
            var outputs = new InferTensor[merged.Outputs.Count];
            for (var o = 0; o < outputs.Length; o++)
            {
                var output = merged.Outputs[o];
                var shape = (long[])output.Shape.Clone();
                shape[0] = itemRows;
                if (output.Elements is { } elements)
                {
                    var perRow = elements.Length / rows;
                    outputs[o] = new InferTensor { Name = output.Name, DataType = output.DataType, Shape = shape, Elements = elements[(startRow * perRow)..((startRow + itemRows) * perRow)] };
                    continue;
                }

                var rowBytes = output.Raw.Length / rows;
                var copy = buffers.Rent(rowBytes * itemRows);
                output.Raw.Span.Slice(startRow * rowBytes, rowBytes * itemRows).CopyTo(copy);
                outputs[o] = new InferTensor { Name = output.Name, DataType = output.DataType, Shape = shape, Raw = copy.AsMemory(0, rowBytes * itemRows) };
            }

            results[b] = new InferenceResult(outputs, buffers);
            startRow += itemRows;
        }

        return results;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Monitor.PulseAll(_lock);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }

        lock (_lock)
        {
            foreach (var item in _queue)
            {
                item.Completion.TrySetException(InferenceException.Unavailable("the replica is shutting down"));
            }

            _queue.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dynamic batching disabled: {Reason}")]
    private static partial void LogBatchingDisabled(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A merged run of {Count} requests failed ({Reason}); running them one by one")]
    private static partial void LogMergedRunFailed(ILogger logger, int count, string reason);

    private sealed class BatchShapeException(string message) : Exception(message);

    private sealed class WorkItem(IReadOnlyList<InferTensor> inputs, long enqueued, CancellationToken cancellation)
    {
        public IReadOnlyList<InferTensor> Inputs { get; } = inputs;

        public long Enqueued { get; } = enqueued;

        public CancellationToken Cancellation { get; } = cancellation;

        public TaskCompletionSource<InferenceResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Rows => RowsOf(Inputs);

        /// <summary>Two requests merge when every input agrees on everything but the batch dimension.</summary>
        public bool CanJoin(WorkItem other)
        {
            for (var i = 0; i < Inputs.Count; i++)
            {
                if (!Inputs[i].Shape.AsSpan(1).SequenceEqual(other.Inputs[i].Shape.AsSpan(1)))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
