using System.Buffers.Binary;
using Google.Protobuf;
using Nano.Server.Domain;

namespace Nano.Server.Http;

/// <summary>
/// A native gRPC call of the public API whose request is not the method's message (garbage, a truncated or mis-sized
/// frame) is answered INVALID_ARGUMENT with one log line, before Grpc.AspNetCore would fail it as UNKNOWN "Exception was
/// thrown by handler." and log a stack trace for each such request. Only calls that send one message (unary and
/// server-streaming) are checked; compressed frames, and messages larger than gRPC accepts, are left to Grpc.AspNetCore.
/// </summary>
public sealed class GrpcRequestCheck(RequestDelegate next, ILogger<GrpcRequestCheck> logger)
{
    /// <summary>What Grpc.AspNetCore accepts by default (MaxReceiveMessageSize), with the frame header.</summary>
    private const int Largest = 4 * 1024 * 1024 + 5;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true ||
            !ApiCatalog.Methods.TryGetValue(context.Request.Path.Value ?? "", out var method) || method.Descriptor.IsClientStreaming)
        {
            await next(context);
            return;
        }
        context.Request.EnableBuffering(Largest);
        using var frame = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0 && frame.Length <= Largest)
            frame.Write(buffer, 0, read);
        context.Request.Body.Position = 0;
        if (frame.Length <= Largest && Problem(frame.GetBuffer().AsSpan(0, (int)frame.Length), method.Descriptor.InputType) is { } problem)
        {
            logger.LogWarning("Refused a malformed gRPC request to {Method} from {Address}: {Problem}", method.Path, context.Connection.RemoteIpAddress, problem);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)Grpc.Core.StatusCode.InvalidArgument).ToString();
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(problem);
            return;
        }
        await next(context);
    }

    /// <summary>Why <paramref name="frame"/> is not one uncompressed gRPC message of <paramref name="type"/>; null when it is (or is compressed).</summary>
    public static string? Problem(ReadOnlySpan<byte> frame, Google.Protobuf.Reflection.MessageDescriptor type)
    {
        if (frame.Length < 5)
            return $"a gRPC message has a 5-byte header; {frame.Length} bytes came";
        if (frame[0] != 0)
            return null;
        var length = BinaryPrimitives.ReadUInt32BigEndian(frame[1..5]);
        if (length != frame.Length - 5)
            return $"the message's header says {length} bytes; {frame.Length - 5} came";
        try
        {
            type.Parser.ParseFrom(frame[5..]);
            return null;
        }
        catch (InvalidProtocolBufferException e)
        {
            return $"not a {type.Name}: {MalformedRequest.WireProblem(frame[5..].ToArray(), type) ?? e.Message}";
        }
    }
}
