namespace Stratus.ModelGen.Onnx;

/// <summary>
/// Collects a node's attributes (AttributeProto), each encoded immediately so the
/// graph builder only has to splice the bytes into the NodeProto.
/// </summary>
internal sealed class NodeAttributes
{
    private const int NameField = 1;
    private const int FloatField = 2;
    private const int IntField = 3;
    private const int StringField = 4;
    private const int TensorField = 5;
    private const int FloatsField = 7;
    private const int IntsField = 8;
    private const int TypeField = 20;

    // AttributeProto.AttributeType values.
    private const int TypeFloat = 1;
    private const int TypeInt = 2;
    private const int TypeString = 3;
    private const int TypeTensor = 4;
    private const int TypeFloats = 6;
    private const int TypeInts = 7;

    private readonly List<Action<ProtoWriter>> _attributes = [];

    public IReadOnlyList<Action<ProtoWriter>> Encoders => _attributes;

    public NodeAttributes Int(string name, long value) =>
        Add(name, TypeInt, w => w.WriteInt64(IntField, value));

    public NodeAttributes Float(string name, float value) =>
        Add(name, TypeFloat, w => w.WriteFloat(FloatField, value));

    /// <summary>A STRING attribute (AttributeProto.s), e.g. an op's mode.</summary>
    public NodeAttributes Text(string name, string value) =>
        Add(name, TypeString, w => w.WriteString(StringField, value));

    public NodeAttributes Ints(string name, params long[] values) =>
        Add(name, TypeInts, w => w.WritePackedInt64(IntsField, values));

    public NodeAttributes Floats(string name, params float[] values) =>
        Add(name, TypeFloats, w => w.WritePackedFloat(FloatsField, values));

    public NodeAttributes Tensor(string name, OnnxTensor value) =>
        Add(name, TypeTensor, w => w.WriteMessage(TensorField, value.WriteTo));

    private NodeAttributes Add(string name, int type, Action<ProtoWriter> writeValue)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _attributes.Add(w =>
        {
            w.WriteString(NameField, name);
            writeValue(w);
            w.WriteInt64(TypeField, type);
        });
        return this;
    }
}
