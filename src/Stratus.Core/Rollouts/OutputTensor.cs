namespace Stratus.Core.Rollouts;

/// <summary>
/// One output tensor of a v2 inference response, as numbers in row-major order: booleans are 0 or 1, and strings,
/// which are not compared numerically, stand as their UTF-8 byte length per element.
/// </summary>
public sealed record OutputTensor(string Name, string DataType, long[] Shape, double[] Values);
