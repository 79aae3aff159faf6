namespace Stratus.ControlPlane.Tests.Support;

/// <summary>v2 requests for the credit-risk sample model: ones that fit its signature, and one that does not.</summary>
internal static class CreditRiskSamples
{
    /// <summary>One applicant; <paramref name="age"/> makes distinct requests.</summary>
    public static string Fitting(int age = 49) =>
        $$"""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[{{age}},104000,0.241,0.108,120,7,0,23250,48,19.9,0,22.9]}]}""";

    /// <summary>The right input with the wrong datatype.</summary>
    public const string Int64Features = """{"inputs":[{"name":"features","datatype":"INT64","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""";
}
