namespace Stratus.ModelGen.Models;

/// <summary>Training figures for credit-risk.onnx, printed by the tool and written into models/README.md.</summary>
internal sealed record CreditRiskReport(
    int TrainRows,
    int TestRows,
    double TrainDefaultRate,
    double TestDefaultRate,
    double TrainAccuracy,
    double TestAccuracy,
    double TrainAuc,
    double TestAuc,
    double TestLogLoss,
    int Epochs);
