using Nano.Testing;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;

namespace Nano.Server.Tests.Infrastructure;

/// <summary>Calls any unary nano.v1 method by its descriptor with an empty request, for checks that span every area.</summary>
public static class GrpcProbe
{
    public static async Task CallAsync(GrpcChannel channel, MethodDescriptor method, string? session)
    {
        var invoker = channel.CreateCallInvoker();
        var grpcMethod = new Method<IMessage, IMessage>(MethodType.Unary, method.Service.FullName, method.Name,
            Marshallers.Create<IMessage>(m => m.ToByteArray(), _ => throw new InvalidOperationException("not read")),
            Marshallers.Create(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)));
        using var call = invoker.AsyncUnaryCall(grpcMethod, null, TestServer.Call(session), (IMessage)Activator.CreateInstance(method.InputType.ClrType)!);
        await call.ResponseAsync;
    }

    /// <summary>Posts <paramref name="frame"/> as it is (a gRPC frame, well formed or not) to <paramref name="path"/>; the call's grpc-status and message.</summary>
    public static async Task<(string Status, string Message)> SendFrameAsync(TestServer server, string path, byte[] frame, string session)
    {
        using var http = new HttpClient(server.Handler());
        using var request = new HttpRequestMessage(HttpMethod.Post, server.GrpcUrl + path)
        {
            Content = new ByteArrayContent(frame), Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.Add("te", "trailers");
        request.Headers.Add("nano-session", session);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string Header(string name) => response.Headers.TryGetValues(name, out var v) ? v.First() : response.TrailingHeaders.TryGetValues(name, out var t) ? t.First() : "";
        Assert.True(Header("grpc-status").Length > 0, $"{response.StatusCode} {response.Version} {response.Headers} {response.Content.Headers} {response.TrailingHeaders}");
        return (Header("grpc-status"), Uri.UnescapeDataString(Header("grpc-message")));
    }
}
