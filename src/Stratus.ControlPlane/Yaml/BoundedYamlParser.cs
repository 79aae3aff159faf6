using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Stratus.ControlPlane.Yaml;

/// <summary>
/// A YAML parser that refuses what a hostile file uses to exhaust its reader before any node is built: anchors and
/// aliases (a "billion laughs" file of a few hundred bytes expands to gigabytes once aliases are followed) and
/// nesting deeper than <see cref="MaxDepth"/> (the node builders recurse, so 20,000 levels overflow the stack).
/// Every refusal is a <see cref="YamlException"/> with the line and column, so callers report it like a syntax error.
/// </summary>
public sealed class BoundedYamlParser(IParser inner) : IParser
{
    /// <summary>Far deeper than any spec or config Stratus reads (a probe sample's tensor data is at most 16 levels).</summary>
    public const int MaxDepth = 64;

    private int _depth;

    public BoundedYamlParser(string text)
        : this(new Parser(new StringReader(text)))
    {
    }

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        switch (inner.Current)
        {
            case AnchorAlias alias:
                throw new YamlException(alias.Start, alias.End, $"aliases are not allowed (*{alias.Value}); write the value out");
            case NodeEvent { Anchor.IsEmpty: false } node:
                throw new YamlException(node.Start, node.End, $"anchors are not allowed (&{node.Anchor}); write the value out");
            case MappingStart or SequenceStart when ++_depth > MaxDepth:
                throw new YamlException(inner.Current.Start, inner.Current.End, $"nested deeper than {MaxDepth} levels");
            case MappingEnd or SequenceEnd:
                _depth--;
                break;
        }

        return true;
    }
}
