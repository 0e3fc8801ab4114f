using System.Net.Sockets;
using Npgsql;

namespace Nano.Server.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL socket the test can cut: it listens in a folder of its own, under the name PostgreSQL's socket has, and
/// forwards to the real one. Cutting it closes every connection through it and takes the socket away (connections are
/// refused), as a database that went down; <see cref="Restore"/> brings it back.
/// </summary>
public sealed class SocketProxy : IAsyncDisposable
{
    private readonly string _target;
    private readonly string _path;
    private readonly List<Socket> _open = [];
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;

    /// <summary>A proxy for the database of <paramref name="connectionString"/> (a unix socket folder and port).</summary>
    public SocketProxy(string connectionString)
    {
        var real = new NpgsqlConnectionStringBuilder(connectionString);
        var socketName = $".s.PGSQL.{real.Port}";
        _target = Path.Combine(real.Host!, socketName);
        var folder = Directory.CreateTempSubdirectory("nano-dbproxy-").FullName;
        _path = Path.Combine(folder, socketName);
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Host = folder }.ConnectionString;
        Restore();
    }

    /// <summary>Bytes the clients sent to the database through the proxy so far (their statements).</summary>
    public long SentBytes => Interlocked.Read(ref _sent);

    private long _sent;

    /// <summary>The database's connection string through the proxy.</summary>
    public string ConnectionString { get; }

    public void Restore()
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(_path));
        _listener.Listen(64);
        var listener = _listener;
        _accepting = Task.Run(async () =>
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = ForwardAsync(client);
            }
        });
    }

    /// <summary>Closes every connection and refuses new ones.</summary>
    public void Cut()
    {
        _listener?.Dispose();
        _listener = null;
        File.Delete(_path);
        lock (_open)
        {
            foreach (var socket in _open)
                socket.Dispose();
            _open.Clear();
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        lock (_open)
        {
            _open.Add(client);
            _open.Add(server);
        }
        try
        {
            await server.ConnectAsync(new UnixDomainSocketEndPoint(_target));
            await Task.WhenAny(PumpAsync(client, server, count: true), PumpAsync(server, client, count: false));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool count)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer)) > 0)
            {
                if (count)
                    Interlocked.Add(ref _sent, read);
                await to.SendAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        Cut();
        await _accepting;
        Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);
    }
}
