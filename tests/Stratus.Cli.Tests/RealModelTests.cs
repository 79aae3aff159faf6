using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Stratus.Cli.Tests.Support;
using Stratus.Testing;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Published third-party models (recurrent state and a scalar sample rate, dynamic NCHW images, an STFT/mel feature
/// extractor, a convolutional embedding) pushed and deployed through the whole system: every one becomes ready,
/// whatever it makes of the synthetic probes, and answers through the gateway as an in-process ONNX Runtime session does.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class RealModelTests(ITestOutputHelper output) : SystemTest
{

    [Fact]
    public async Task Deploy_EveryPublishedModel_BecomesReadyAndAnswersAsInProcessOnnxRuntime()
    {
        // Silero v5 comes with its own requests as samples; the others are checked on the synthetic probes they take.
        // Silero v5 pushed again without samples refuses every synthetic probe (its sample rate must be 8 or 16 kHz):
        // it deploys all the same, with consistency not checked, and says so.
        await using (var raw = File.OpenRead(ThirdPartyModels.SileroVadV5.Path))
        {
            await Client.PushModelAsync("vad-without-samples", raw);
            await Client.DeployAsync("vad-without-samples", "vad-without-samples", null, 1, placement: new() { AllowedClouds = ["local-us"] }, isPublic: true);
        }

        foreach (var model in ThirdPartyModels.All)
        {
            await using var file = File.OpenRead(model.Path);
            var samples = model == ThirdPartyModels.SileroVadV5 ? model.Requests : [];
            var pushed = await Client.PushModelAsync(model.Name, file, samples);
            Assert.Equal(samples.Count, pushed.Samples);
            await Client.DeployAsync(model.Name, model.Name, null, 1, placement: new() { AllowedClouds = ["local-us"] }, isPublic: true);
        }

        using var http = new HttpClient { BaseAddress = Platform.Gateway.Address };
        foreach (var model in ThirdPartyModels.All)
        {
            await Client.WaitForReadyAsync(model.Name, 1, TimeSpan.FromSeconds(120));
            var status = await Client.GetDeploymentAsync(model.Name);
            var note = Assert.Single(status.Consistency);
            output.WriteLine($"{model.Name}: {note.Note}");
            using var session = new InferenceSession(model.Path);
            foreach (var request in model.Requests)
            {
                using var response = await http.PostAsync($"v2/models/{model.Name}/infer", new StringContent(request, System.Text.Encoding.UTF8, "application/json"));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{model.Name}: {(int)response.StatusCode} {body}");
                var outputs = JsonDocument.Parse(body).RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
                foreach (var (name, expected) in OnnxReference.Run(session, request))
                {
                    var shape = outputs[name].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    var values = outputs[name].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                    Assert.Null(OnnxReference.Difference($"{model.Name} {name}", expected, shape, values));
                }
            }
        }

        await Client.WaitForReadyAsync("vad-without-samples", 1, TimeSpan.FromSeconds(120));
        var notes = (await Client.ListDeploymentsAsync()).ToDictionary(d => d.Deployment.Name, d => d.Consistency.Single());
        output.WriteLine($"vad-without-samples: {notes["vad-without-samples"].Note}");
        Assert.Equal("checked on 2 sample probe(s)", notes[ThirdPartyModels.SileroVadV5.Name].Note);
        Assert.False(notes["vad-without-samples"].Checked);
        Assert.StartsWith("no usable probe set; consistency not checked", notes["vad-without-samples"].Note, StringComparison.Ordinal);
        Assert.All(ThirdPartyModels.All, m => Assert.True(notes[m.Name].Checked, $"{m.Name}: {notes[m.Name].Note}"));
        Assert.Contains(await Client.ListAuditAsync(), e => e.Action == "deployment.consistency" && e.Target == "vad-without-samples/1" && e.After!.Contains("no usable probe set", StringComparison.Ordinal));

        // Its replica answers real requests, as the others do.
        using var vad = await http.PostAsync("v2/models/vad-without-samples/infer", new StringContent(ThirdPartyModels.SileroVadV5.Requests[0], System.Text.Encoding.UTF8, "application/json"));
        Assert.True(vad.IsSuccessStatusCode, await vad.Content.ReadAsStringAsync());
    }
}
