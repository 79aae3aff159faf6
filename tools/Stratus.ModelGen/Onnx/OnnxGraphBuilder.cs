namespace Stratus.ModelGen.Onnx;

/// <summary>
/// Fluent builder for a single-graph ONNX model (IR version 8, default-domain opset 17),
/// serialised straight to ModelProto bytes with <see cref="ProtoWriter"/>.
/// Nodes must be added in topological order; <see cref="ToModelBytes"/> checks that every
/// tensor a node consumes already exists, so a typo fails here instead of in ONNX Runtime.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;
    public const string ProducerName = "Stratus.ModelGen";

    // Fixed rather than read from the assembly so a rebuild can never change model bytes.
    public const string ProducerVersion = "1.0.0";

    // ModelProto
    private const int ModelIrVersionField = 1;
    private const int ModelProducerNameField = 2;
    private const int ModelProducerVersionField = 3;
    private const int ModelDocStringField = 6;
    private const int ModelGraphField = 7;
    private const int ModelOpsetImportField = 8;
    private const int ModelMetadataPropsField = 14;

    // OperatorSetIdProto
    private const int OpsetDomainField = 1;
    private const int OpsetVersionField = 2;

    // StringStringEntryProto
    private const int EntryKeyField = 1;
    private const int EntryValueField = 2;

    // GraphProto
    private const int GraphNodeField = 1;
    private const int GraphNameField = 2;
    private const int GraphInitializerField = 5;
    private const int GraphDocStringField = 10;
    private const int GraphInputField = 11;
    private const int GraphOutputField = 12;

    // NodeProto
    private const int NodeInputField = 1;
    private const int NodeOutputField = 2;
    private const int NodeNameField = 3;
    private const int NodeOpTypeField = 4;
    private const int NodeAttributeField = 5;

    // ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
    private const int ValueInfoNameField = 1;
    private const int ValueInfoTypeField = 2;
    private const int TypeTensorTypeField = 1;
    private const int TensorElemTypeField = 1;
    private const int TensorShapeField = 2;
    private const int ShapeDimField = 1;
    private const int DimValueField = 1;
    private const int DimParamField = 2;

    private readonly string _graphName;
    private readonly List<ValueInfo> _inputs = [];
    private readonly List<ValueInfo> _outputs = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<NodeDefinition> _nodes = [];
    private readonly List<KeyValuePair<string, string>> _metadata = [];
    private string _docString = string.Empty;

    public OnnxGraphBuilder(string graphName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        _graphName = graphName;
    }

    public OnnxGraphBuilder DocString(string docString)
    {
        _docString = docString;
        return this;
    }

    public OnnxGraphBuilder Metadata(string key, string value)
    {
        _metadata.Add(new(key, value));
        return this;
    }

    public OnnxGraphBuilder Input(string name, OnnxDataType type, params Dim[] dims)
    {
        _inputs.Add(new ValueInfo(name, type, dims));
        return this;
    }

    public OnnxGraphBuilder Output(string name, OnnxDataType type, params Dim[] dims)
    {
        _outputs.Add(new ValueInfo(name, type, dims));
        return this;
    }

    public OnnxGraphBuilder Initializer(string name, float[] values, params long[] dims) =>
        Initializer(OnnxTensor.FromFloats(name, values, dims));

    public OnnxGraphBuilder Initializer(string name, long[] values, params long[] dims) =>
        Initializer(OnnxTensor.FromInt64s(name, values, dims));

    public OnnxGraphBuilder Initializer(OnnxTensor tensor)
    {
        _initializers.Add(tensor);
        return this;
    }

    /// <summary>Adds a node; its name defaults to "{opType}_{index}" so models stay deterministic.</summary>
    public OnnxGraphBuilder Node(
        string opType,
        string[] inputs,
        string[] outputs,
        Action<NodeAttributes>? attributes = null,
        string? name = null)
    {
        var nodeAttributes = new NodeAttributes();
        attributes?.Invoke(nodeAttributes);
        _nodes.Add(new NodeDefinition(opType, inputs, outputs, name ?? $"{opType}_{_nodes.Count}", nodeAttributes));
        return this;
    }

    public byte[] ToModelBytes()
    {
        Validate();
        var model = new ProtoWriter();
        model.WriteInt64(ModelIrVersionField, IrVersion);
        model.WriteString(ModelProducerNameField, ProducerName);
        model.WriteString(ModelProducerVersionField, ProducerVersion);
        if (_docString.Length > 0)
        {
            model.WriteString(ModelDocStringField, _docString);
        }

        model.WriteMessage(ModelGraphField, WriteGraph);
        model.WriteMessage(ModelOpsetImportField, opset =>
        {
            // Empty domain means the default "ai.onnx" operator set.
            opset.WriteString(OpsetDomainField, string.Empty);
            opset.WriteInt64(OpsetVersionField, OpsetVersion);
        });
        foreach (var (key, value) in _metadata)
        {
            model.WriteMessage(ModelMetadataPropsField, entry =>
            {
                entry.WriteString(EntryKeyField, key);
                entry.WriteString(EntryValueField, value);
            });
        }

        return model.ToArray();
    }

    private void WriteGraph(ProtoWriter graph)
    {
        foreach (var node in _nodes)
        {
            graph.WriteMessage(GraphNodeField, node.WriteTo);
        }

        graph.WriteString(GraphNameField, _graphName);
        foreach (var initializer in _initializers)
        {
            graph.WriteMessage(GraphInitializerField, initializer.WriteTo);
        }

        if (_docString.Length > 0)
        {
            graph.WriteString(GraphDocStringField, _docString);
        }

        foreach (var input in _inputs)
        {
            graph.WriteMessage(GraphInputField, input.WriteTo);
        }

        foreach (var output in _outputs)
        {
            graph.WriteMessage(GraphOutputField, output.WriteTo);
        }
    }

    private void Validate()
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in _inputs.Select(i => i.Name).Concat(_initializers.Select(i => i.Name)))
        {
            if (!known.Add(name))
            {
                throw new InvalidOperationException($"Graph '{_graphName}': tensor '{name}' is defined twice.");
            }
        }

        foreach (var node in _nodes)
        {
            foreach (var input in node.Inputs.Where(i => i.Length > 0 && !known.Contains(i)))
            {
                throw new InvalidOperationException(
                    $"Graph '{_graphName}': node '{node.Name}' reads '{input}' before anything produces it.");
            }

            foreach (var output in node.Outputs.Where(o => !known.Add(o)))
            {
                throw new InvalidOperationException(
                    $"Graph '{_graphName}': node '{node.Name}' redefines '{output}'.");
            }
        }

        foreach (var output in _outputs.Where(o => !known.Contains(o.Name)))
        {
            throw new InvalidOperationException($"Graph '{_graphName}': output '{output.Name}' is never produced.");
        }
    }

    private sealed record ValueInfo(string Name, OnnxDataType Type, Dim[] Dims)
    {
        public void WriteTo(ProtoWriter valueInfo)
        {
            valueInfo.WriteString(ValueInfoNameField, Name);
            valueInfo.WriteMessage(ValueInfoTypeField, type =>
                type.WriteMessage(TypeTensorTypeField, tensor =>
                {
                    tensor.WriteInt64(TensorElemTypeField, (long)Type);

                    // Always present, even with no dims: an empty shape declares a scalar.
                    tensor.WriteMessage(TensorShapeField, shape =>
                    {
                        foreach (var dim in Dims)
                        {
                            shape.WriteMessage(ShapeDimField, d =>
                            {
                                if (dim.Param is { } param)
                                {
                                    d.WriteString(DimParamField, param);
                                }
                                else
                                {
                                    d.WriteInt64(DimValueField, dim.Value!.Value);
                                }
                            });
                        }
                    });
                }));
        }
    }

    private sealed record NodeDefinition(string OpType, string[] Inputs, string[] Outputs, string Name, NodeAttributes Attributes)
    {
        public void WriteTo(ProtoWriter node)
        {
            foreach (var input in Inputs)
            {
                node.WriteString(NodeInputField, input);
            }

            foreach (var output in Outputs)
            {
                node.WriteString(NodeOutputField, output);
            }

            node.WriteString(NodeNameField, Name);
            node.WriteString(NodeOpTypeField, OpType);
            foreach (var attribute in Attributes.Encoders)
            {
                node.WriteMessage(NodeAttributeField, attribute);
            }
        }
    }
}
