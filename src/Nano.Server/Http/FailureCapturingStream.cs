namespace Nano.Server.Http;

/// <summary>
/// Response body that passes successful answers straight through and holds back the body of a
/// failure (status 400 or more when the first byte is written), so it can be rewritten.
/// </summary>
internal sealed class FailureCapturingStream(Stream inner, HttpResponse response) : Stream
{
    private MemoryStream? _captured;
    private bool _decided;

    public MemoryStream? Captured => _captured;

    private Stream Target
    {
        get
        {
            if (!_decided)
            {
                _decided = true;
                if (response.StatusCode >= 400)
                    _captured = new MemoryStream();
            }
            return (Stream?)_captured ?? inner;
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Target.Write(buffer, offset, count);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Target.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        Target.WriteAsync(buffer, cancellationToken);

    public override void Flush()
    {
        if (_captured is null && _decided)
            inner.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _captured is null && _decided ? inner.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
