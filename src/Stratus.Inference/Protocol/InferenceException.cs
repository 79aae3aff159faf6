namespace Stratus.Inference.Protocol;

/// <summary>A request that cannot be served, with the HTTP status and the message the caller sees as <c>{"error": ...}</c>.</summary>
public sealed class InferenceException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static InferenceException BadRequest(string message) => new(400, message);

    public static InferenceException NotFound(string message) => new(404, message);

    public static InferenceException Unavailable(string message) => new(503, message);
}
