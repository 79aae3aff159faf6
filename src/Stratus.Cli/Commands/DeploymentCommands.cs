using System.CommandLine;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;
using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus deploy NAME</c>: create or update a deployment from flags, or with --dry-run show its plan.</summary>
internal sealed class DeployCommand : Command
{
    public DeployCommand(IInteraction interaction, GlobalOptions global)
        : base("deploy", "Create or update a deployment and wait until its replicas are ready (--dry-run: show the plan only).")
    {
        var name = new Argument<string>("name") { Description = "Deployment name; also the model's unless --model says otherwise." };
        var model = new Option<string>("--model") { Description = "Model to serve (default: the deployment's name)." };
        var version = new Option<int?>("--version") { Description = "Model version (default: the latest)." };
        var replicas = new Option<int>("--replicas") { Description = "How many replicas.", DefaultValueFactory = _ => 1 };
        var shape = new Option<string>("--shape") { Description = "Replica shape, as clouds.yaml names them (default cpu-small)." };
        var placement = PlacementOptions.Create();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the placement the planner would choose (and the rejected clouds, with reasons); change nothing." };
        var isPublic = new Option<bool>("--public") { Description = "Anyone may call it through the gateway (default: callers need a key, see 'stratus key')." };
        var scaling = AutoscalingOptions.Create();
        scaling.AddTo(this);
        var strategy = new Option<string>("--strategy") { Description = "Move an existing deployment to --version by rolling, canary, blue-green or shadow (a rollout; see 'stratus rollout')." };
        var stepSeconds = new Option<int?>("--step-seconds") { Description = "Canary: seconds each weight step is observed; shadow: seconds of comparison before promotion (default 60)." };
        var minRequests = new Option<long?>("--min-requests") { Description = "Canary and shadow: requests needed for a verdict (default 50)." };
        var maxErrorIncrease = new Option<double?>("--max-error-rate-increase") { Description = "Canary and shadow: how much more often the new version may fail, overall and in any cloud (default 0.01)." };
        var mirror = new Option<int?>("--mirror-percent") { Description = "Shadow: share of live requests mirrored to the new version (default 100)." };
        var tolerance = new Option<double?>("--tolerance") { Description = "Shadow: absolute and relative tolerance of the comparison of answers (default 1e-4)." };
        var agreement = new Option<double?>("--min-argmax-agreement") { Description = "Shadow: least share of classifier rows with the same arg-max (default 0.99)." };
        Options.Add(strategy);
        Options.Add(stepSeconds);
        Options.Add(minRequests);
        Options.Add(maxErrorIncrease);
        Options.Add(mirror);
        Options.Add(tolerance);
        Options.Add(agreement);
        var waiting = WaitOptions.Create();
        Arguments.Add(name);
        Options.Add(isPublic);
        Options.Add(model);
        Options.Add(version);
        Options.Add(replicas);
        Options.Add(shape);
        placement.AddTo(this);
        Options.Add(dryRun);
        waiting.AddTo(this);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var deploymentName = parse.GetValue(name)!;
            PlacementConstraints constraints;
            try
            {
                constraints = placement.Read(parse);
            }
            catch (FormatException e)
            {
                interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }

            var spec = StratusClient.SpecJson(parse.GetValue(model) ?? deploymentName, parse.GetValue(version), parse.GetValue(replicas), parse.GetValue(shape), constraints, parse.GetValue(isPublic), scaling.Read(parse));
            if (parse.GetValue(dryRun))
            {
                return PlanView.Show(session, await session.Client.PlanAsync(deploymentName, spec, cancellationToken));
            }

            if (parse.GetValue(strategy) is { } how)
            {
                if (parse.GetValue(version) is not { } to)
                {
                    interaction.Error("--strategy needs --version, the version to roll out");
                    return ExitCodes.InvalidArguments;
                }

                var settings = new RolloutRequest(null, null)
                {
                    StepSeconds = parse.GetValue(stepSeconds),
                    MinRequests = parse.GetValue(minRequests),
                    MaxErrorRateIncrease = parse.GetValue(maxErrorIncrease),
                    MirrorPercent = parse.GetValue(mirror),
                    AbsoluteTolerance = parse.GetValue(tolerance),
                    RelativeTolerance = parse.GetValue(tolerance),
                    MinArgmaxAgreement = parse.GetValue(agreement),
                };
                var rollout = await session.Client.StartRolloutAsync(deploymentName, to, how, settings, cancellationToken);
                session.Render(rollout, r => RolloutCommand.Show(interaction, r));
                return ExitCodes.Success;
            }

            var deployment = await session.Client.ApplyAsync(deploymentName, spec, cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
    }
}

/// <summary>The autoscaling flags of <c>deploy</c>: with --max-replicas, the autoscaler sizes the deployment.</summary>
internal sealed record AutoscalingOptions(Option<int?> Min, Option<int?> Max, Option<double> Target, Option<bool> Qps, Option<int> UpDelay, Option<int> DownDelay, Option<int?> ToZero)
{
    public static AutoscalingOptions Create() => new(
        new("--min-replicas") { Description = "Autoscaling: fewest replicas (0 allows scale to zero with --scale-to-zero-after)." },
        new("--max-replicas") { Description = "Autoscaling: most replicas; turns the autoscaler on." },
        new("--target") { Description = "Autoscaling: load per replica (requests in flight, or per second with --qps).", DefaultValueFactory = _ => 4 },
        new("--qps") { Description = "Autoscaling: size by requests per second rather than requests in flight." },
        new("--scale-up-delay") { Description = "Autoscaling: seconds a larger size must be wanted before it applies." },
        new("--scale-down-delay") { Description = "Autoscaling: seconds over which the largest wanted size is kept.", DefaultValueFactory = _ => 30 },
        new("--scale-to-zero-after") { Description = "Autoscaling: with --min-replicas 0, seconds without traffic before scaling to zero." });

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Min, Max, Target, Qps, UpDelay, DownDelay, ToZero })
        {
            command.Options.Add(option);
        }
    }

    public Stratus.Core.Scaling.AutoscalingSpec? Read(ParseResult parse) => parse.GetValue(Max) is not { } max ? null : new Stratus.Core.Scaling.AutoscalingSpec
    {
        MinReplicas = parse.GetValue(Min) ?? 1,
        MaxReplicas = max,
        TargetPerReplica = parse.GetValue(Target),
        Metric = parse.GetValue(Qps) ? Stratus.Core.Scaling.ScalingMetric.Qps : Stratus.Core.Scaling.ScalingMetric.Concurrency,
        ScaleUpDelay = TimeSpan.FromSeconds(parse.GetValue(UpDelay)),
        ScaleDownDelay = TimeSpan.FromSeconds(parse.GetValue(DownDelay)),
        ScaleToZeroAfter = parse.GetValue(ToZero) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
    };
}

/// <summary>The placement flags of <c>deploy</c>: the same constraints a spec's <c>placement</c> holds.</summary>
internal sealed record PlacementOptions(
    Option<string[]> Clouds,
    Option<string[]> NotClouds,
    Option<string[]> Regions,
    Option<string[]> Jurisdictions,
    Option<int> MinClouds,
    Option<int> MinRegions,
    Option<int?> MaxPerCloud,
    Option<string[]> Users,
    Option<bool> Ordered,
    Option<bool> Spot,
    Option<int> MinOnDemand)
{
    public static PlacementOptions Create() => new(
        new("--clouds") { Description = "Only these clouds (comma-separated); with --ordered, in order of preference.", AllowMultipleArgumentsPerToken = true },
        new("--not-clouds") { Description = "Never these clouds.", AllowMultipleArgumentsPerToken = true },
        new("--regions") { Description = "Only these regions.", AllowMultipleArgumentsPerToken = true },
        new("--jurisdictions") { Description = "Residency: only clouds under these jurisdictions (eu, us, cn, ...).", AllowMultipleArgumentsPerToken = true },
        new("--min-clouds") { Description = "Spread over at least this many clouds." },
        new("--min-regions") { Description = "Spread over at least this many regions." },
        new("--max-per-cloud") { Description = "At most this many replicas in one cloud." },
        new("--user") { Description = "A user location and latency budget, NAME:LAT,LON:MS (repeatable).", AllowMultipleArgumentsPerToken = true },
        new("--ordered") { Description = "Prefer --clouds in the order given rather than the cheapest." },
        new("--spot") { Description = "Allow spot replicas." },
        new("--min-on-demand") { Description = "With --spot, keep at least this many on-demand." });

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Clouds, NotClouds, Regions, Jurisdictions, MinClouds, MinRegions, MaxPerCloud, Users, Ordered, Spot, MinOnDemand })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The constraints the flags give; a malformed --user is a <see cref="FormatException"/> naming it.</summary>
    public PlacementConstraints Read(ParseResult parse)
    {
        static string[] List(string[]? values) => [.. (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
        return new PlacementConstraints
        {
            AllowedClouds = List(parse.GetValue(Clouds)),
            ForbiddenClouds = List(parse.GetValue(NotClouds)),
            AllowedRegions = List(parse.GetValue(Regions)),
            Jurisdictions = List(parse.GetValue(Jurisdictions)),
            MinClouds = parse.GetValue(MinClouds),
            MinRegions = parse.GetValue(MinRegions),
            MaxPerCloud = parse.GetValue(MaxPerCloud),
            Users = [.. (parse.GetValue(Users) ?? []).Select(ParseUser)],
            Strategy = parse.GetValue(Ordered) ? PlacementStrategy.Ordered : PlacementStrategy.Cheapest,
            SpotAllowed = parse.GetValue(Spot),
            MinOnDemand = parse.GetValue(MinOnDemand),
        };
    }

    private static UserLocation ParseUser(string text)
    {
        var parts = text.Split(':');
        var coordinates = parts.Length == 3 ? parts[1].Split(',') : [];
        if (parts.Length != 3 || coordinates.Length != 2 ||
            !double.TryParse(coordinates[0], System.Globalization.CultureInfo.InvariantCulture, out var latitude) ||
            !double.TryParse(coordinates[1], System.Globalization.CultureInfo.InvariantCulture, out var longitude) ||
            !double.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var budget))
        {
            throw new FormatException($"--user '{text}' is not NAME:LAT,LON:MS (for example dublin:53.3,-6.3:50)");
        }

        return new UserLocation(parts[0], new GeoLocation(latitude, longitude), budget);
    }
}

/// <summary>A plan as a table, like SkyPilot's optimizer: chosen clouds with cost, then rejected ones with reasons.</summary>
internal static class PlanView
{
    public static int Show(ClientSession session, PlacementPlan plan)
    {
        session.Render(plan, p =>
        {
            if (p.Feasible)
            {
                var table = Output.Table("CLOUD", "REGION", "JURISDICTION", "REPLICAS", "ON-DEMAND", "SPOT", "$/HOUR");
                foreach (var item in p.Placement)
                {
                    table.Row(item.Cloud, item.Region, item.Jurisdiction, item.Replicas, item.OnDemand, item.Spot, item.HourlyCost.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
                }

                session.Console.Write(table);
                session.Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"total ${p.HourlyCost:0.000}/hour, {p.Replicas} replicas, {p.Moves} current replica(s) moved"));
            }
            else
            {
                session.Console.WriteLine($"infeasible: {p.Infeasible}");
            }

            if (p.Rejected.Count > 0)
            {
                var rejected = Output.Table("NOT USED", "REGION", "JURISDICTION", "WHY");
                foreach (var r in p.Rejected)
                {
                    rejected.Row(r.Cloud, r.Region, r.Jurisdiction, r.Reason);
                }

                session.Console.Write(rejected);
            }
        });
        return plan.Feasible ? ExitCodes.Success : ExitCodes.Failure;
    }
}

/// <summary><c>stratus apply -f spec.yaml</c>: a deployment spec in YAML or JSON, the API's own schema.</summary>
internal sealed class ApplyCommand : Command
{
    public ApplyCommand(IInteraction interaction, GlobalOptions global)
        : base("apply", "Create or update a deployment from a spec file (YAML or JSON: name, model, version, replicas, shape).")
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The spec file.", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the placement the planner would choose; change nothing." };
        var waiting = WaitOptions.Create();
        Options.Add(file);
        Options.Add(dryRun);
        waiting.AddTo(this);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var path = parse.GetValue(file)!;
            string json;
            string name;
            try
            {
                (json, name) = Specs.Read(path.FullName);
            }
            catch (Exception e) when (e is SpecException or IOException)
            {
                interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }

            if (parse.GetValue(dryRun))
            {
                return PlanView.Show(session, await session.Client.PlanAsync(name, json, cancellationToken));
            }

            var deployment = await session.Client.ApplyAsync(name, json, cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
    }
}

/// <summary><c>stratus deployment list/get/scale/delete</c>.</summary>
internal sealed class DeploymentCommand : Command
{
    public DeploymentCommand(IInteraction interaction, GlobalOptions global)
        : base("deployment", "List, inspect, scale and delete deployments.")
    {
        var list = new Command("list", "Deployments with their ready replicas and clouds.");
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListDeploymentsAsync(cancellationToken), deployments =>
            {
                var table = Output.Table("NAME", "MODEL", "VERSION", "READY", "SHAPE", "CLOUDS");
                foreach (var d in deployments)
                {
                    table.Row(
                        d.Deployment.Name,
                        d.Deployment.Model,
                        d.Deployment.ModelVersion,
                        $"{d.ReadyReplicas}/{d.Deployment.Replicas}",
                        d.Deployment.Shape,
                        string.Join(", ", d.Replicas.Where(r => r.State == ReplicaState.Ready).GroupBy(r => r.Cloud).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Count()})")));
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var getName = new Argument<string>("name");
        var get = new Command("get", "One deployment and each replica's state (pending, starting, ready, draining, failed with its reason).") { getName };
        get.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.GetDeploymentAsync(parse.GetValue(getName)!, cancellationToken), status => Show(session.Console, status));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(get);

        var scaleName = new Argument<string>("name");
        var replicas = new Option<int>("--replicas") { Description = "The new replica count.", Required = true };
        var waiting = WaitOptions.Create();
        var scale = new Command("scale", "Set a deployment's replica count.") { scaleName, replicas };
        waiting.AddTo(scale);
        scale.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var deployment = await session.Client.ScaleAsync(parse.GetValue(scaleName)!, parse.GetValue(replicas), cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
        Subcommands.Add(scale);

        var trafficName = new Argument<string>("name");
        var splits = new Argument<string[]>("splits") { Description = "VERSION=WEIGHT[:REPLICAS] for each version, weights summing to 100 (none: all traffic to the deployment's version)." };
        var traffic = new Command("traffic", "Split traffic between model versions (canary, A/B): e.g. 1=90 2=10:1.") { trafficName, splits };
        var trafficWaiting = WaitOptions.Create();
        trafficWaiting.AddTo(traffic);
        traffic.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var parsed = new List<(int, int, int?)>();
            foreach (var text in parse.GetValue(splits) ?? [])
            {
                var match = System.Text.RegularExpressions.Regex.Match(text, @"^(\d+)=(\d+)(?::(\d+))?$");
                if (!match.Success)
                {
                    interaction.Error($"'{text}' is not VERSION=WEIGHT[:REPLICAS]");
                    return ExitCodes.InvalidArguments;
                }

                parsed.Add((int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[3].Success ? int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : null));
            }

            var deployment = await session.Client.SetTrafficAsync(parse.GetValue(trafficName)!, parsed, cancellationToken);
            return await trafficWaiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
        Subcommands.Add(traffic);

        var deleteName = new Argument<string>("name");
        var delete = new Command("delete", "Delete a deployment: its replicas leave the route table, drain, and stop.") { deleteName };
        delete.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            await session.Client.DeleteDeploymentAsync(parse.GetValue(deleteName)!, cancellationToken);
            interaction.Line($"deleted {parse.GetValue(deleteName)}; its replicas drain and stop");
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(delete);
    }

    internal static void Show(IAnsiConsole console, DeploymentStatus status)
    {
        var d = status.Deployment;
        console.WriteLine($"{d.Name}: model {d.Model} version {d.ModelVersion}, {status.ReadyReplicas}/{d.Replicas} ready, shape {d.Shape}, {(d.Public ? "public" : "private (needs a key)")}");
        if (status.Placement is { } placement)
        {
            var plan = placement.Plan;
            console.WriteLine(plan.Feasible
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"placement: {string.Join(", ", plan.Placement.Select(p => $"{p.Cloud} {p.Replicas}" + (p.Spot > 0 ? $" ({p.Spot} spot)" : string.Empty)))}; ${plan.HourlyCost:0.000}/hour")
                : $"placement: none: {plan.Infeasible}");
            foreach (var block in placement.Blocked)
            {
                console.WriteLine($"blocked: {block.Describe()} until {block.Until:HH:mm:ss}: {block.Reason}");
            }
        }

        if (status.Autoscaler is { } reason)
        {
            console.WriteLine($"autoscaler: {reason}");
        }

        foreach (var note in status.Consistency)
        {
            console.WriteLine($"consistency of version {note.Version}: {note.Note}");
        }

        if (d.Traffic.Count > 0)
        {
            console.WriteLine("traffic: " + string.Join(", ", d.Traffic.Select(t => $"version {t.Version} {t.Weight}%" + (t.Replicas is { } n ? $" ({n} replicas)" : string.Empty) + (t.Mirror is { } m ? $" (shadow: {m.Percent}% mirrored)" : string.Empty))));
        }

        var table = Output.Table("REPLICA", "VERSION", "CLOUD", "KIND", "STATE", "ENDPOINT", "REASON");
        foreach (var r in status.Replicas)
        {
            table.Row(r.Id, r.ModelVersion == 0 ? d.ModelVersion : r.ModelVersion, r.Cloud, r.Spot ? "spot" : "on-demand", r.State.ToJsonName(), r.Endpoint, r.Reason);
        }

        console.Write(table);
    }
}

/// <summary>--no-wait and --timeout, and what a changing verb does after the change.</summary>
internal sealed record WaitOptions(Option<bool> NoWait, Option<int> TimeoutSeconds)
{
    public static WaitOptions Create() => new(
        new Option<bool>("--no-wait") { Description = "Return once the change is stored, without waiting for ready replicas." },
        new Option<int>("--timeout") { Description = "Seconds to wait for ready replicas.", DefaultValueFactory = _ => 120 });

    public void AddTo(Command command)
    {
        command.Options.Add(NoWait);
        command.Options.Add(TimeoutSeconds);
    }

    public async Task<int> AfterChangeAsync(ParseResult parse, ClientSession session, Deployment deployment, CancellationToken cancellationToken)
    {
        if (!parse.GetValue(NoWait))
        {
            var timeout = TimeSpan.FromSeconds(parse.GetValue(TimeoutSeconds));
            var wanted = deployment.Traffic.Count == 0 ? deployment.Replicas : deployment.Traffic.Sum(t => t.Replicas ?? deployment.Replicas);
            if (session.Format == OutputFormat.Table)
            {
                await session.Console.WhileAsync(
                    $"waiting for {wanted} ready replica(s) of {deployment.Name}",
                    () => session.Client.WaitForReadyAsync(deployment.Name, wanted, timeout, cancellationToken));
            }
            else
            {
                await session.Client.WaitForReadyAsync(deployment.Name, wanted, timeout, cancellationToken);
            }
        }

        var status = await session.Client.GetDeploymentAsync(deployment.Name, cancellationToken);
        session.Render(status, s => DeploymentCommand.Show(session.Console, s));
        return ExitCodes.Success;
    }
}
