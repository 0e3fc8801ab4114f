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
}
