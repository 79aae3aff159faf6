using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stratus.Cli.Tests.Support;

namespace Stratus.Cli.Tests.Commands;

/// <summary>
/// The client verbs, as a user types them, against the whole system on loopback: a real control plane with SQLite, the
/// three default local clouds of real replica processes, and the gateway.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ClientCommandTests : IAsyncLifetime
{
    private TestSystem _system = null!;

    public async Task InitializeAsync() => _system = await TestSystem.StartAsync();

    public async Task DisposeAsync() => await _system.DisposeAsync();

    private static JsonElement Json(TestInteraction output) => JsonDocument.Parse(output.ConsoleText).RootElement.Clone();

    private async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var (exit, output) = await _system.RunAsync([.. args, "-o", "json"]);
        Assert.True(exit == 0, $"{string.Join(' ', args)} exited {exit}: {string.Join("; ", output.Errors)}");
        return Json(output);
    }

    private async Task PushAsync()
    {
        var (exit, output) = await _system.RunAsync("model", "push", Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"), "--name", "credit-risk");
        Assert.True(exit == 0, string.Join("; ", output.Errors));
        Assert.Contains("credit-risk version 1  sha256 ", output.Output, StringComparison.Ordinal);
        Assert.Contains("features", output.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flow_PushDeployToThreeCloudsInferKillScaleDelete()
    {
        await PushAsync();

        // Three replicas, one in each local cloud, ready before the command returns.
        var deployed = await RunJsonAsync("deploy", "credit-risk", "--replicas", "3", "--min-clouds", "3");
        Assert.Equal(3, deployed.GetProperty("readyReplicas").GetInt32());
        var replicas = deployed.GetProperty("replicas").EnumerateArray().ToList();
        Assert.Equal(["local-ap", "local-eu", "local-us"], replicas.Select(r => r.GetProperty("cloud").GetString()).Order());

        // Private by default: no key, no answer; with a key made for it, through the gateway, the same answer a
        // replica gives directly.
        var request = Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json");
        var (keylessExit, keyless) = await _system.RunAsync("infer", "credit-risk", "-i", "@" + request);
        Assert.Equal(ExitCodes.Unauthorized, keylessExit);
        Assert.Contains("is private", Assert.Single(keyless.Errors), StringComparison.Ordinal);
        var key = (await RunJsonAsync("key", "create", "credit-risk", "--description", "tests")).GetProperty("key").GetString()!;
        var answer = await RunJsonAsync("infer", "credit-risk", "-i", "@" + request, "--key", key);
        using var direct = new HttpClient { BaseAddress = new Uri(replicas[0].GetProperty("endpoint").GetString()!) };
        using var directResponse = await direct.PostAsync("v2/models/credit-risk/infer", new StringContent(await File.ReadAllTextAsync(request), Encoding.UTF8, "application/json"));
        var expected = await directResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonSerializer.Serialize(expected.GetProperty("outputs")), JsonSerializer.Serialize(answer.GetProperty("outputs")));

        // A replica process killed: the control plane replaces it.
        var victim = replicas[1].GetProperty("id").GetString()!;
        Assert.Equal(1, Stratus.Testing.ChildProcesses.KillMatching(victim));
        await Stratus.Testing.Eventually.HoldsAsync(
            async () =>
            {
                var now = await RunJsonAsync("deployment", "get", "credit-risk");
                return now.GetProperty("readyReplicas").GetInt32() == 3 && !now.GetProperty("replicas").EnumerateArray().Any(r => r.GetProperty("id").GetString() == victim);
            },
            "the killed replica was replaced");

        // Scaling below the spread the spec asks for is refused with the reason; a new spec without it is not.
        var (refusedExit, refused) = await _system.RunAsync("deployment", "scale", "credit-risk", "--replicas", "1");
        Assert.Equal(ExitCodes.Failure, refusedExit);
        Assert.Contains("placement is infeasible: minClouds: spreading over 3 clouds needs at least 3 replicas, replicas is 1", Assert.Single(refused.Errors), StringComparison.Ordinal);
        var scaled = await RunJsonAsync("deploy", "credit-risk", "--replicas", "1");
        Assert.Equal(1, scaled.GetProperty("readyReplicas").GetInt32());
        var (listExit, list) = await _system.RunAsync("deployment", "list");
        Assert.Equal(0, listExit);
        Assert.Matches(@"credit-risk\s+│\s+credit-risk\s+│\s+1\s+│\s+1/1", list.ConsoleText);

        var (cloudExit, clouds) = await _system.RunAsync("cloud", "list", "-o", "yaml");
        Assert.Equal(0, cloudExit);
        Assert.Contains("name: local-us", clouds.ConsoleText, StringComparison.Ordinal);
        Assert.Contains("jurisdiction: eu", clouds.ConsoleText, StringComparison.Ordinal);

        var (deleteExit, _) = await _system.RunAsync("deployment", "delete", "credit-risk");
        Assert.Equal(0, deleteExit);
        await Stratus.Testing.Eventually.HoldsAsync(() => _system.RunningReplicas() == 0, "every replica drained and stopped");

        var actions = (await RunJsonAsync("audit", "list")).EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["model.push", "deployment.create", "key.create", "deployment.update", "deployment.delete"], actions.Where(a => a != "deployment.consistency"));

        // The first replica's consistency check is recorded once: later replicas of the version found the same.
        Assert.Single(actions, "deployment.consistency");
        var (verifyExit, verify) = await _system.RunAsync("audit", "verify");
        Assert.Equal(0, verifyExit);
        Assert.Contains("intact: 6 entries", verify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokens_WrongOrWeakOrRevoked_AreRefusedAndChangeNothing()
    {
        await PushAsync();
        var viewer = await RunJsonAsync("token", "create", "--role", "viewer", "--description", "dashboard");
        var secret = viewer.GetProperty("token").GetString()!;

        var (unknownExit, unknown) = await _system.RunWithTokenAsync("stratus_000000000000_nope", "deployment", "list");
        var (weakExit, weak) = await _system.RunWithTokenAsync(secret, "deploy", "credit-risk", "--no-wait");
        var (readExit, _) = await _system.RunWithTokenAsync(secret, "deployment", "list");
        var (revokeExit, _) = await _system.RunAsync("token", "revoke", viewer.GetProperty("id").GetString()!);
        var (revokedExit, revoked) = await _system.RunWithTokenAsync(secret, "deployment", "list");

        Assert.Equal(ExitCodes.Unauthorized, unknownExit);
        Assert.Contains("unknown or revoked", Assert.Single(unknown.Errors), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Unauthorized, weakExit);
        Assert.Contains("needs the deployer role", Assert.Single(weak.Errors), StringComparison.Ordinal);
        Assert.Equal(0, readExit);
        Assert.Equal(0, revokeExit);
        Assert.Equal(ExitCodes.Unauthorized, revokedExit);
        Assert.Contains("unknown or revoked", Assert.Single(revoked.Errors), StringComparison.Ordinal);
        Assert.Equal(0, (await RunJsonAsync("deployment", "list")).GetArrayLength());
        Assert.Equal(["model.push", "token.create", "token.revoke"], (await RunJsonAsync("audit", "list")).EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        var tokens = await RunJsonAsync("token", "list");
        Assert.DoesNotContain(secret, tokens.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplicaLogs_OfADeployedReplica_PrintsWhatItWrote_AndOfAnUnknownOneOrBadLinesExplain()
    {
        await PushAsync();
        var replica = Assert.Single((await RunJsonAsync("deploy", "credit-risk", "--replicas", "1")).GetProperty("replicas").EnumerateArray());
        var id = replica.GetProperty("id").GetString()!;

        // `replica` serves a model with --model; `replica logs` needs none of that.
        var (exit, logs) = await _system.RunAsync("replica", "logs", id, "--lines", "50");
        var json = await RunJsonAsync("replica", "logs", id, "-n", "1");
        var (unknownExit, unknown) = await _system.RunAsync("replica", "logs", "no-such-replica");
        var (badExit, bad) = await _system.RunAsync("replica", "logs", id, "--lines", "0");

        Assert.True(exit == 0, string.Join("; ", logs.Errors));
        Assert.Contains($"ready at {replica.GetProperty("endpoint").GetString()}", logs.Output, StringComparison.Ordinal);
        Assert.Contains("credit-risk", logs.Output, StringComparison.Ordinal);
        Assert.Equal((id, replica.GetProperty("cloud").GetString()), (json.GetProperty("replica").GetString(), json.GetProperty("cloud").GetString()));
        Assert.Single(json.GetProperty("lines").EnumerateArray());
        Assert.Equal(ExitCodes.Failure, unknownExit);
        Assert.Contains("no cloud knows replica 'no-such-replica'", Assert.Single(unknown.Errors), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, badExit);
        Assert.Contains("'lines' must be from 1 to 10000", Assert.Single(bad.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_CorruptModel_ExplainsAndStoresNothing()
    {
        var (exit, output) = await _system.RunAsync("model", "push", Stratus.Testing.RepositoryFiles.Model("corrupt.onnx"), "--name", "broken");

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Contains("ONNX Runtime cannot load", Assert.Single(output.Errors), StringComparison.Ordinal);
        Assert.Equal(0, (await RunJsonAsync("model", "list")).GetArrayLength());
        Assert.Equal(0, (await RunJsonAsync("audit", "list")).GetArrayLength());
    }

    [Fact]
    public async Task Push_WithSamples_StoresThemAndABadOneNamesTheTensorAndStoresNothing()
    {
        var folder = Path.Combine(_system.Data, "samples");
        Directory.CreateDirectory(folder);
        var good = Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json");
        var wrongType = Path.Combine(folder, "wrong-type.json");
        await File.WriteAllTextAsync(wrongType, """{"inputs":[{"name":"features","datatype":"INT64","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""");

        var (badExit, bad) = await _system.RunAsync("model", "push", Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"), "--name", "credit-risk", "--sample", good, "--sample", wrongType);
        Assert.Equal(ExitCodes.Failure, badExit);
        Assert.Contains("sample 2 does not fit model credit-risk: input 'features' has datatype INT64", Assert.Single(bad.Errors), StringComparison.Ordinal);
        Assert.Equal(0, (await RunJsonAsync("model", "list")).GetArrayLength());

        var (exit, pushed) = await _system.RunAsync("model", "push", Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"), "--name", "credit-risk", "--sample", good);
        Assert.True(exit == 0, string.Join("; ", pushed.Errors));
        Assert.Contains("credit-risk version 1  sha256 ", pushed.Output, StringComparison.Ordinal);
        Assert.Contains("1 sample(s)", pushed.Output, StringComparison.Ordinal);

        // Another sample added later, the same one again skipped; the spec names a sample file beside it.
        var other = Path.Combine(folder, "other.json");
        await File.WriteAllTextAsync(other, """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[30,50000,0.3,0.4,10,3,1,9000,48,4,0,8]}]}""");
        var added = await RunJsonAsync("model", "sample", "add", "credit-risk", "1", other, good);
        Assert.Equal(2, added.GetProperty("samples").GetInt32());
        var spec = Path.Combine(folder, "risk.yaml");
        await File.WriteAllTextAsync(spec, "name: risk\nmodel: credit-risk\nreplicas: 1\nprobes:\n  samples: [\"@other.json\", spec-only.json]\n  record: 2\n");
        await File.WriteAllTextAsync(Path.Combine(folder, "spec-only.json"), """{"inputs":[{"name":"features","datatype":"FP32","shape":[2,12],"data":[30,50000,0.3,0.4,10,3,1,9000,48,4,0,8,30,50000,0.3,0.4,10,3,1,9000,48,4,0,8]}]}""");
        var applied = await RunJsonAsync("apply", "-f", spec);
        Assert.Equal(2, applied.GetProperty("deployment").GetProperty("recordProbes").GetInt32());

        var samples = (await RunJsonAsync("model", "sample", "list", "credit-risk", "1")).EnumerateArray().Select(e => e.GetProperty("source").GetString()).ToList();
        Assert.Equal(["push", "api", "spec"], samples);

        // The replica was checked on those samples, and says so.
        var (getExit, shown) = await _system.RunAsync("deployment", "get", "risk");
        Assert.Equal(0, getExit);
        Assert.Contains("consistency of version 1: checked on 3 sample probe(s)", shown.ConsoleText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_YamlSpec_DeploysAndBadSpecsAreRefusedWithTheReason()
    {
        await PushAsync();
        var folder = Path.Combine(_system.Data, "specs");
        Directory.CreateDirectory(folder);
        var good = Path.Combine(folder, "good.yaml");
        await File.WriteAllTextAsync(good, "# the credit model, two replicas\nname: risk\nmodel: credit-risk\nversion: 1\nreplicas: 2\nshape: cpu-small\n");
        var typo = Path.Combine(folder, "typo.yaml");
        await File.WriteAllTextAsync(typo, "name: fraud\nmodel: credit-risk\nreplica: 2\n");
        var broken = Path.Combine(folder, "broken.yaml");
        await File.WriteAllTextAsync(broken, "name: fraud\nmodel: [credit-risk\n");

        var (typoExit, typoOutput) = await _system.RunAsync("apply", "-f", typo, "--no-wait");
        var (brokenExit, brokenOutput) = await _system.RunAsync("apply", "-f", broken, "--no-wait");
        var applied = await RunJsonAsync("apply", "-f", good);

        Assert.Equal(ExitCodes.Failure, typoExit);
        Assert.Contains("'replica'", Assert.Single(typoOutput.Errors), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidArguments, brokenExit);
        Assert.Contains($"{broken}: not valid YAML or JSON at line", Assert.Single(brokenOutput.Errors), StringComparison.Ordinal);
        Assert.Equal(2, applied.GetProperty("readyReplicas").GetInt32());
        Assert.Equal("risk", Assert.Single((await RunJsonAsync("deployment", "list")).EnumerateArray()).GetProperty("deployment").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Server_Unreachable_SaysSoWithItsOwnExitCode()
    {
        var (exit, output) = await CliRunner.RunAsync("deployment", "list", "--server", "http://127.0.0.1:1/", "--token", "x", "--config", Path.Combine(_system.Data, "none.json"));

        Assert.Equal(ExitCodes.Unreachable, exit);
        Assert.Contains("cannot reach http://127.0.0.1:1/", Assert.Single(output.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_AfterAnEntryIsEditedInTheFile_FailsAndNamesIt()
    {
        await PushAsync();
        await RunJsonAsync("deploy", "credit-risk", "--replicas", "0");
        var (cleanExit, _) = await _system.RunAsync("audit", "verify");

        // Someone with access to the file rewrites history: the first entry now blames another actor.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_system.Data, "stratus.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var edit = connection.CreateCommand();
            edit.CommandText = "UPDATE audit SET actor = 'token:mallory' WHERE seq = 1;";
            Assert.Equal(1, await edit.ExecuteNonQueryAsync());
        }

        var (exit, output) = await _system.RunAsync("audit", "verify");

        Assert.Equal(0, cleanExit);
        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Contains("BROKEN at entry 1", output.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeployDryRun_ShowsThePlanAndRejectionsAndChangesNothing()
    {
        await PushAsync();

        var (exit, plan) = await _system.RunAsync("deploy", "risk", "--model", "credit-risk", "--replicas", "2", "--jurisdictions", "eu", "--dry-run");
        var (infeasibleExit, infeasible) = await _system.RunAsync("deploy", "risk", "--model", "credit-risk", "--replicas", "9", "--jurisdictions", "eu", "--dry-run");
        var json = await RunJsonAsync("deploy", "risk", "--model", "credit-risk", "--replicas", "3", "--spot", "--min-on-demand", "1", "--dry-run");

        Assert.Equal(0, exit);
        Assert.Matches(@"local-eu\s+│\s+eu-west\s+│\s+eu\s+│\s+2\s+│\s+2\s+│\s+0\s+│\s+0\.214", plan.ConsoleText);
        Assert.Contains("jurisdiction us is not in [eu] (residency)", plan.ConsoleText, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, infeasibleExit);
        Assert.Contains("infeasible: replicas: 9 wanted, but the 1 candidate clouds can hold 6: 3 short", infeasible.ConsoleText, StringComparison.Ordinal);
        var placed = json.GetProperty("placement")[0];
        Assert.Equal(("local-ap", 1, 2), (placed.GetProperty("cloud").GetString(), placed.GetProperty("onDemand").GetInt32(), placed.GetProperty("spot").GetInt32()));
        Assert.Equal(0, (await RunJsonAsync("deployment", "list")).GetArrayLength());
    }

    [Fact]
    public async Task Traffic_SplitBetweenTwoVersions_ReachesBothThroughTheGateway()
    {
        await PushAsync();
        await _system.RunAsync("model", "push", Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"), "--name", "credit-risk");
        await RunJsonAsync("deploy", "risk", "--model", "credit-risk", "--version", "1", "--replicas", "1", "--public");

        var split = await RunJsonAsync("deployment", "traffic", "risk", "1=50", "2=50:1");

        Assert.Equal(2, split.GetProperty("readyReplicas").GetInt32());
        Assert.Equal([1, 2], split.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("modelVersion").GetInt32()).Order());
        var request = Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json");
        var versions = new HashSet<string>();
        for (var i = 0; i < 60 && versions.Count < 2; i++)
        {
            versions.Add((await RunJsonAsync("infer", "risk", "-i", "@" + request)).GetProperty("model_version").GetString()!);
        }

        Assert.Equal(["1", "2"], versions.Order());
        var (badExit, bad) = await _system.RunAsync("deployment", "traffic", "risk", "1=50", "2=60");
        Assert.Equal(ExitCodes.Failure, badExit);
        Assert.Contains("sum to 100, not 110", Assert.Single(bad.Errors), StringComparison.Ordinal);
    }
}
