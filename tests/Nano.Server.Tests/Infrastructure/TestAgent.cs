using Nano.Testing;
using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Nano.Contracts.Cell.V1;

namespace Nano.Server.Tests.Infrastructure;

/// <summary>
/// A scripted cell agent speaking the real protocol over a real gRPC stream, for server tests: it says
/// hello, sends what the test tells it to, and answers commands with <see cref="Answer"/>. (The real
/// agent, nano-cell, is tested against libvirt and end to end.)
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ConnectRequest, ConnectResponse> _call;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _reader;

    private TestAgent(AsyncDuplexStreamingCall<ConnectRequest, ConnectResponse> call, Welcome welcome, Func<Command, CommandResult?>? answer)
    {
        _call = call;
        Welcome = welcome;
        if (answer is not null)
            Answer = answer;
        _reader = Task.Run(ReadAsync);
    }

    public Welcome Welcome { get; }

    /// <summary>Completes when the stream ends (the server closed it, or this agent stopped).</summary>
    public Task Ended => _reader;

    /// <summary>Heartbeat acks received, in order.</summary>
    public ConcurrentQueue<HeartbeatAck> Acks { get; } = new();

    /// <summary>Commands received, in order.</summary>
    public ConcurrentQueue<Command> Commands { get; } = new();

    /// <summary>How to answer a command; by default success with local storage at /var/lib/nano/images.</summary>
    public Func<Command, CommandResult?> Answer { get; set; } = c => new CommandResult { Id = c.Id, Storage = LocalStorage("/var/lib/nano/images") };

    public static CellStorage LocalStorage(string path) => new() { Mode = "local", System = { path }, Data = { path }, Total = 1000, Available = 500 };

    /// <summary>Answers as <paramref name="answer"/> does, but holds the results of the commands <paramref name="held"/> picks until <paramref name="gate"/> completes.</summary>
    public void HoldAnswers(Func<Command, bool> held, Task gate, Func<Command, CommandResult?> answer) => Answer = c =>
    {
        if (!held(c))
            return answer(c);
        _ = gate.ContinueWith(_ => SendAsync(new ConnectRequest { Result = answer(c) }), TaskScheduler.Default);
        return null;
    };

    public static Hello Hello(string name, string token = "test-token", int cores = 4, long memory = 8L << 30) => new()
    {
        Token = token,
        ProtocolVersion = (int)ProtocolVersion.Current,
        AgentVersion = "test",
        Name = name,
        Address = "127.0.0.1",
        LibvirtUri = "test:///default",
        Hypervisor = "TEST",
        HypervisorVersion = 2,
        Cores = cores,
        Memory = memory,
        AvailableMemory = memory,
        Storage = LocalStorage("/var/lib/nano/images"),
    };

    /// <summary>Connects and waits for the welcome; a refusal throws the server's RpcException.</summary>
    /// <summary>
    /// Says hello and waits for the welcome. <paramref name="answer"/> answers from the first command on: a server sends
    /// a joining cell commands at once (storage to mount again), before a test could set <see cref="Answer"/>.
    /// </summary>
    public static async Task<TestAgent> ConnectAsync(GrpcChannel channel, Hello hello, Func<Command, CommandResult?>? answer = null)
    {
        var client = new CellAgentService.CellAgentServiceClient(channel);
        var call = client.Connect(deadline: DateTime.UtcNow.AddMinutes(10));
        await call.RequestStream.WriteAsync(new ConnectRequest { Hello = hello });
        using var timeout = new CancellationTokenSource(TestServer.Deadline);
        if (!await call.ResponseStream.MoveNext(timeout.Token))
            throw new InvalidOperationException("no welcome");
        return new TestAgent(call, call.ResponseStream.Current.Welcome ?? throw new InvalidOperationException("not a welcome"), answer);
    }

    public Task SendAsync(ConnectRequest message) => WriteAsync(message);

    public Task HeartbeatAsync() => WriteAsync(new ConnectRequest { Heartbeat = new Heartbeat { Sequence = 1 } });

    public Task MetricsAsync(MetricsSample sample) => WriteAsync(new ConnectRequest { Metrics = sample });

    /// <summary>Heartbeats every 500 ms until disposed, as a live agent sends them (the server's liveness timeout is 3 s).</summary>
    public IAsyncDisposable KeepAlive()
    {
        var stop = new CancellationTokenSource();
        var beating = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await HeartbeatAsync();
                await Task.Delay(500, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        });
        return new Heartbeats(stop, beating);
    }

    private sealed class Heartbeats(CancellationTokenSource stop, Task beating) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await beating.ContinueWith(_ => { }, TaskScheduler.Default);
            stop.Dispose();
        }
    }

    /// <summary>Stops in order, as nano-cell does: a goodbye, the end of its stream, then it waits for the server to end the call.</summary>
    public async Task GoodbyeAsync(string reason)
    {
        await WriteAsync(new ConnectRequest { Goodbye = new Goodbye { Reason = reason } });
        await _call.RequestStream.CompleteAsync();
        await _reader.WaitAsync(TestServer.Deadline);
    }

    /// <summary>Ends the stream as an agent that stops would.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
        }
        _stop.Cancel();
        _call.Dispose();
        await _reader.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task WriteAsync(ConnectRequest message)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(message);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token))
            {
                if (_call.ResponseStream.Current.HeartbeatAck is { } ack)
                    Acks.Enqueue(ack);
                if (_call.ResponseStream.Current.Command is not { } command)
                    continue;
                Commands.Enqueue(command);
                if (Answer(command) is { } result)
                    await WriteAsync(new ConnectRequest { Result = result });
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
        {
        }
    }
}
