using System.CommandLine;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Ctl;
using Spectre.Console;

// nanoctl: Nano.Grpc from a terminal, over the same gRPC API as every other client (README, "The command-line client").
var json = new Option<string>("--output", "-o") { Description = "table (default) or json", DefaultValueFactory = _ => "table", Recursive = true };
json.AcceptOnlyFromAmong("table", "json");
var root = new RootCommand("nanoctl: the Nano.Grpc command-line client (log in first: nanoctl login --server URL --ca FILE --user NAME)") { json };

bool Json(ParseResult parse) => parse.GetValue(json) == "json";

// Runs a command against the logged-in server: the server's refusal is printed with its reason and exits 1.
Command Verb(string name, string description, Func<ParseResult, Connection, CancellationToken, Task<int>> action, params Symbol[] symbols)
{
    var command = new Command(name, description);
    foreach (var symbol in symbols)
    {
        if (symbol is Option option)
            command.Options.Add(option);
        else if (symbol is Argument argument)
            command.Arguments.Add(argument);
    }
    command.SetAction(async (parse, cancel) =>
    {
        if (SavedSession.Load() is not { } saved)
            return Output.Fail("not logged in: nanoctl login --server URL --ca FILE --user NAME");
        await using var connection = Connection.Open(saved);
        try
        {
            await connection.KeepAliveAsync(cancel); // each use extends the session: it ends 180 s after the last one
            return await action(parse, connection, cancel);
        }
        catch (RpcException e)
        {
            return Output.Fail(e.StatusCode == StatusCode.Unauthenticated ? $"{e.Status.Detail} (nanoctl login)" : e.Status.Detail);
        }
    });
    return command;
}

Command Group(string name, string description, params Command[] verbs)
{
    var command = new Command(name, description);
    foreach (var verb in verbs)
        command.Subcommands.Add(verb);
    return command;
}

// login / logout
var server = new Option<string>("--server") { Description = "the server's gRPC address, e.g. https://127.0.0.1:5871", Required = true };
var ca = new Option<string>("--ca") { Description = "the zone CA the server's certificate is signed by (<data dir>/tls/ca.pem)", DefaultValueFactory = _ => "" };
var user = new Option<string>("--user") { Description = "user name", Required = true };
var passwordStdin = new Option<bool>("--password-stdin") { Description = "read the password from standard input instead of asking" };
var login = new Command("login", "log in and keep the session in ~/.config/nanoctl/session.json (mode 0600)") { server, ca, user, passwordStdin };
login.SetAction(async (parse, cancel) =>
{
    var password = parse.GetValue(passwordStdin)
        ? (Console.In.ReadLine() ?? "")
        : AnsiConsole.Prompt(new TextPrompt<string>("Password:").Secret());
    await using var connection = Connection.Open(parse.GetValue(server)!, parse.GetValue(ca)!);
    try
    {
        var answer = await new SessionService.SessionServiceClient(connection.Channel).CreateSessionAsync(
            new CreateSessionRequest { User = parse.GetValue(user)!, Password = password, Nonce = "nanoctl" }, connection.Call(cancel));
        var status = await new SystemService.SystemServiceClient(connection.Channel).GetSystemStatusAsync(new GetSystemStatusRequest(), connection.Call(cancel));
        var caFile = parse.GetValue(ca)!.Length > 0 ? Path.GetFullPath(parse.GetValue(ca)!) : "";
        new SavedSession(parse.GetValue(server)!, caFile, answer.Data.Session, parse.GetValue(user)!, status.Data.RestPort).Save();
        AnsiConsole.MarkupLine($"logged in as [bold]{Markup.Escape(parse.GetValue(user)!)}[/] (group {Markup.Escape(answer.Data.Group)}); session kept in {Markup.Escape(SavedSession.PathOf())}");
        return 0;
    }
    catch (RpcException e)
    {
        return Output.Fail(e.Status.Detail);
    }
});
root.Subcommands.Add(login);
root.Subcommands.Add(Verb("logout", "end the session and forget it", async (parse, c, cancel) =>
{
    await new SessionService.SessionServiceClient(c.Channel).DeleteSessionAsync(new DeleteSessionRequest { SessionId = c.Session }, c.Call(cancel));
    SavedSession.Forget();
    return 0;
}));

// pools and cells
var poolName = new Argument<string>("pool") { Description = "compute pool name" };
var poolOption = new Option<string>("--pool") { Description = "compute pool", DefaultValueFactory = _ => "default" };
root.Subcommands.Add(Group("pool", "compute pools",
    Verb("list", "list compute pools", async (parse, c, cancel) =>
    {
        var answer = await new ComputePoolService.ComputePoolServiceClient(c.Channel).ListComputePoolsAsync(new ListComputePoolsRequest(), c.Call(cancel));
        Output.List(answer.Data, Json(parse), "name", "enabled", "cells", "storage", "network");
        return 0;
    }),
    Verb("show", "show a compute pool", async (parse, c, cancel) =>
    {
        var answer = await new ComputePoolService.ComputePoolServiceClient(c.Channel).GetComputePoolAsync(new GetComputePoolRequest { Pool = parse.GetValue(poolName)! }, c.Call(cancel));
        Output.One(answer.Data, Json(parse));
        return 0;
    }, poolName)));
var cellName = new Argument<string>("cell") { Description = "cell name" };
root.Subcommands.Add(Group("cell", "cells (hosts) of a pool",
    Verb("list", "list the cells of a pool", async (parse, c, cancel) =>
    {
        var answer = await new ComputePoolService.ComputePoolServiceClient(c.Channel).ListPoolCellsAsync(new ListPoolCellsRequest { Pool = parse.GetValue(poolOption)! }, c.Call(cancel));
        Output.List(answer.Data, Json(parse), "name", "address", "enabled", "alive");
        return 0;
    }, poolOption),
    Verb("show", "show a cell", async (parse, c, cancel) =>
    {
        var answer = await new ComputePoolService.ComputePoolServiceClient(c.Channel).GetPoolCellAsync(
            new GetPoolCellRequest { Pool = parse.GetValue(poolOption)!, Cell = parse.GetValue(cellName)! }, c.Call(cancel));
        Output.One(answer.Data, Json(parse));
        return 0;
    }, cellName, poolOption)));

// guests
var guestId = new Argument<string>("guest") { Description = "guest id" };
var guestName = new Argument<string>("name") { Description = "guest name" };
var cores = new Option<int>("--cores") { Description = "vCPUs", DefaultValueFactory = _ => 1 };
var memory = new Option<int>("--memory") { Description = "memory in MiB", DefaultValueFactory = _ => 256 };
var disks = new Option<int[]>("--disk") { Description = "a disk's size in GiB (repeat for more disks)", DefaultValueFactory = _ => [1], AllowMultipleArgumentsPerToken = false };
var template = new Option<string>("--template") { Description = "system template id", DefaultValueFactory = _ => "0qodbfbd15imbt3g0004" };
var fromImage = new Option<string>("--image") { Description = "disk image id to clone the system disk from", DefaultValueFactory = _ => "" };
var wait = new Option<bool>("--wait") { Description = "show the creation's progress until it ends" };
var force = new Option<bool>("--force") { Description = "power off at once instead of asking the guest to shut down" };
root.Subcommands.Add(Group("guest", "guests (virtual machines)",
    Verb("list", "list the guests of a pool", async (parse, c, cancel) =>
    {
        var answer = await new GuestService.GuestServiceClient(c.Channel).QueryGuestsAsync(new QueryGuestsRequest { Pool = parse.GetValue(poolOption)! }, c.Call(cancel));
        Output.List(answer.Data, Json(parse), "id", "name", "running", "cell", "cores", "memory", "owner");
        return 0;
    }, poolOption),
    Verb("show", "show a guest", async (parse, c, cancel) =>
    {
        var answer = await new GuestService.GuestServiceClient(c.Channel).GetGuestAsync(new GetGuestRequest { Id = parse.GetValue(guestId)! }, c.Call(cancel));
        Output.One(answer.Data, Json(parse));
        return 0;
    }, guestId),
    Verb("create", "create a guest", async (parse, c, cancel) =>
    {
        var request = new CreateGuestRequest
        {
            Name = parse.GetValue(guestName)!, Pool = parse.GetValue(poolOption)!, Template = parse.GetValue(template)!, Cores = parse.GetValue(cores),
            Memory = parse.GetValue(memory) * (1L << 20), FromImage = parse.GetValue(fromImage)!,
        };
        request.Disks.AddRange(parse.GetValue(disks)!.Select(d => d * (1L << 30)));
        var created = await new GuestService.GuestServiceClient(c.Channel).CreateGuestAsync(request, c.Call(cancel));
        if (!parse.GetValue(wait))
        {
            Print(parse, created.Data.Id);
            return 0;
        }
        var operations = await new OperationService.OperationServiceClient(c.Channel).ListOperationsAsync(new ListOperationsRequest { Target = created.Data.Id }, c.Call(cancel));
        var ended = await Watch.ProgressAsync(c, operations.Data.OrderBy(o => o.CreatedTime).Last().Id, $"creating {request.Name}", cancel);
        if (ended.State != "succeeded")
            return Output.Fail($"creating {request.Name} {ended.State}: {ended.Error}");
        Print(parse, created.Data.Id);
        return 0;
    }, guestName, poolOption, cores, memory, disks, template, fromImage, wait),
    Verb("start", "start a guest", async (parse, c, cancel) =>
    {
        await new InstanceService.InstanceServiceClient(c.Channel).StartInstanceAsync(new StartInstanceRequest { Id = parse.GetValue(guestId)! }, c.Call(cancel));
        return 0;
    }, guestId),
    Verb("stop", "stop a guest", async (parse, c, cancel) =>
    {
        await new InstanceService.InstanceServiceClient(c.Channel).StopInstanceAsync(new StopInstanceRequest { Id = parse.GetValue(guestId)!, Force = parse.GetValue(force) }, c.Call(cancel));
        return 0;
    }, guestId, force),
    Verb("delete", "delete a stopped guest and its disks", async (parse, c, cancel) =>
    {
        await new GuestService.GuestServiceClient(c.Channel).DeleteGuestAsync(new DeleteGuestRequest { Id = parse.GetValue(guestId)!, Force = parse.GetValue(force) }, c.Call(cancel));
        return 0;
    }, guestId, force)));

// images
var imageId = new Argument<string>("image") { Description = "image id" };
var media = new Option<bool>("--media") { Description = "media images (ISO) instead of disk images (qcow2)" };
var file = new Argument<FileInfo>("file") { Description = "the file to upload (qcow2 for a disk image, ISO for a media image)" };
var imageName = new Option<string>("--name") { Description = "the new image's name (default: the file's name without extension)", DefaultValueFactory = _ => "" };
root.Subcommands.Add(Group("image", "disk and media images",
    Verb("list", "list the images visible to you", async (parse, c, cancel) =>
    {
        if (parse.GetValue(media))
            Output.List((await new MediaImageService.MediaImageServiceClient(c.Channel).ListMediaImagesAsync(new ListMediaImagesRequest(), c.Call(cancel))).Data,
                Json(parse), "id", "name", "size", "created", "owner");
        else
            Output.List((await new DiskImageService.DiskImageServiceClient(c.Channel).SearchDiskImagesAsync(new SearchDiskImagesRequest(), c.Call(cancel))).Data,
                Json(parse), "id", "name", "size", "created", "owner");
        return 0;
    }, media),
    Verb("show", "show an image", async (parse, c, cancel) =>
    {
        if (parse.GetValue(media))
            Output.One((await new MediaImageService.MediaImageServiceClient(c.Channel).GetMediaImageAsync(new GetMediaImageRequest { Id = parse.GetValue(imageId)! }, c.Call(cancel))).Data, Json(parse));
        else
            Output.One((await new DiskImageService.DiskImageServiceClient(c.Channel).GetDiskImageAsync(new GetDiskImageRequest { Id = parse.GetValue(imageId)! }, c.Call(cancel))).Data, Json(parse));
        return 0;
    }, imageId, media),
    Verb("upload", "create an image and upload its file, with a progress bar", async (parse, c, cancel) =>
    {
        var source = parse.GetValue(file)!;
        if (!source.Exists)
            return Output.Fail($"{source.FullName} does not exist");
        var name = parse.GetValue(imageName) is { Length: > 0 } given ? given : Path.GetFileNameWithoutExtension(source.Name);
        var id = await Upload.CreateAsync(c, name, parse.GetValue(media), cancel);
        await Upload.SendAsync(c, source, id, parse.GetValue(media), cancel);
        Print(parse, id);
        return 0;
    }, file, imageName, media)));

// operations
var operationId = new Argument<string>("operation") { Description = "operation id" };
var target = new Option<string>("--target") { Description = "only the operations on this guest or image id", DefaultValueFactory = _ => "" };
root.Subcommands.Add(Group("op", "operations (long work: creations, migrations, uploads)",
    Verb("list", "list recent operations", async (parse, c, cancel) =>
    {
        var answer = await new OperationService.OperationServiceClient(c.Channel).ListOperationsAsync(new ListOperationsRequest { Target = parse.GetValue(target)!, Limit = 50 }, c.Call(cancel));
        Output.List(answer.Data, Json(parse), "id", "kind", "target", "state", "percent", "stage", "created_time");
        return 0;
    }, target),
    Verb("show", "show an operation", async (parse, c, cancel) =>
    {
        Output.One((await new OperationService.OperationServiceClient(c.Channel).GetOperationAsync(new GetOperationRequest { Id = parse.GetValue(operationId)! }, c.Call(cancel))).Data, Json(parse));
        return 0;
    }, operationId),
    Verb("wait", "wait for an operation to end (exit 0 when it succeeded)", async (parse, c, cancel) =>
    {
        var ended = await Watch.QuietAsync(c, parse.GetValue(operationId)!, cancel);
        Output.One(ended, Json(parse));
        return ended.State == "succeeded" ? 0 : 1;
    }, operationId),
    Verb("watch", "show an operation's progress until it ends", async (parse, c, cancel) =>
    {
        var ended = await Watch.ProgressAsync(c, parse.GetValue(operationId)!, "operation", cancel);
        return ended.State == "succeeded" ? 0 : Output.Fail($"{ended.Kind} {ended.State}: {ended.Error}");
    }, operationId),
    Verb("cancel", "cancel an operation", async (parse, c, cancel) =>
    {
        await new OperationService.OperationServiceClient(c.Channel).CancelOperationAsync(new CancelOperationRequest { Id = parse.GetValue(operationId)! }, c.Call(cancel));
        return 0;
    }, operationId)));

// console
root.Subcommands.Add(Verb("console", "print the URL of a guest's console page (open it in a browser)", (parse, c, cancel) =>
{
    var saved = SavedSession.Load()!;
    var address = new UriBuilder(saved.Server) { Port = saved.RestPort, Path = $"/console/{Uri.EscapeDataString(parse.GetValue(guestId)!)}", Fragment = $"session={Uri.EscapeDataString(saved.Session)}" };
    Console.WriteLine(address.Uri.AbsoluteUri);
    return Task.FromResult(0);
}, guestId));

return await root.Parse(args).InvokeAsync();

// An id the server answered: alone on its line, or as {"id": …} for -o json.
void Print(ParseResult parse, string id) => Console.WriteLine(Json(parse) ? $"{{\"id\":\"{id}\"}}" : id);
