#!/usr/bin/python3
"""A Python client of Nano.Grpc over gRPC: log in, create a guest and watch its creation to the end, upload a disk image.

Generated code first (from the repository root): tools/node_modules/.bin/buf generate   (writes examples/python/gen)
Run with Debian's python3 and python3-grpcio:
    NANO_PASSWORD=... /usr/bin/python3 examples/python/nano_example.py --server 127.0.0.1:5871 --ca .nano/tls/ca.pem \
        --user admin --image some.qcow2
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from nano.v1 import disk_image_service_pb2 as disk_images  # noqa: E402
from nano.v1 import disk_image_service_pb2_grpc as disk_images_grpc  # noqa: E402
from nano.v1 import guest_service_pb2 as guests  # noqa: E402
from nano.v1 import guest_service_pb2_grpc as guests_grpc  # noqa: E402
from nano.v1 import image_file_service_pb2 as image_files  # noqa: E402
from nano.v1 import image_file_service_pb2_grpc as image_files_grpc  # noqa: E402
from nano.v1 import operation_service_pb2 as operations  # noqa: E402
from nano.v1 import operation_service_pb2_grpc as operations_grpc  # noqa: E402
from nano.v1 import session_service_pb2 as sessions  # noqa: E402
from nano.v1 import session_service_pb2_grpc as sessions_grpc  # noqa: E402

CHUNK = 1 << 20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="the gRPC address, host:port")
    parser.add_argument("--ca", required=True, help="the zone CA (<data dir>/tls/ca.pem)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--pool", default="default")
    parser.add_argument("--name", default="py-example")
    parser.add_argument("--image", required=True, help="a qcow2 file to upload as a disk image")
    args = parser.parse_args()

    with open(args.ca, "rb") as ca:
        channel = grpc.secure_channel(args.server, grpc.ssl_channel_credentials(root_certificates=ca.read()))

    # Log in. gRPC metadata keys are lowercase: the session goes as "nano-session" (grpcio refuses "Nano-Session").
    login = sessions_grpc.SessionServiceStub(channel).CreateSession(
        sessions.CreateSessionRequest(user=args.user, password=os.environ["NANO_PASSWORD"], nonce="python"))
    session = [("nano-session", login.data.session)]
    print(f"logged in as {args.user}, group {login.data.group}")

    # A failure is a typed status, with the server's reason.
    try:
        guests_grpc.GuestServiceStub(channel).GetGuest(guests.GetGuestRequest(id="no-such-guest"), metadata=session)
    except grpc.RpcError as error:
        print(f"as expected: {error.code().name} {error.details()}")

    # Create a guest; its creation is an operation: watch it (a server stream) until it ends.
    created = guests_grpc.GuestServiceStub(channel).CreateGuest(guests.CreateGuestRequest(
        name=args.name, pool=args.pool, template="0qodbfbd15imbt3g0004", cores=1, memory=128 << 20, disks=[1 << 30]),
        metadata=session)
    guest = created.data.id
    print(f"guest {guest} accepted")
    found = operations_grpc.OperationServiceStub(channel).ListOperations(
        operations.ListOperationsRequest(target=guest), metadata=session)
    operation = found.data[0].id
    last = None
    for update in operations_grpc.OperationServiceStub(channel).WatchOperation(
            operations.WatchOperationRequest(id=operation), metadata=session):
        last = update.data
        print(f"operation {operation}: {last.state} {last.percent}% {last.stage}")
        if last.finished:
            break
    if last is None or last.state != "succeeded":
        sys.exit(f"creation ended {last.state if last else 'without news'}: {last.error if last else ''}")

    # Upload a disk image: its record, then its file as a client stream (the target first, then chunks).
    image = disk_images_grpc.DiskImageServiceStub(channel).CreateDiskImage(
        disk_images.CreateDiskImageRequest(name=args.name + "-disk"), metadata=session).data.id

    def parts():
        yield image_files.UploadImageRequest(target=image_files.ImageUploadTarget(kind=image_files.IMAGE_KIND_DISK, id=image))
        with open(args.image, "rb") as content:
            while chunk := content.read(CHUNK):
                yield image_files.UploadImageRequest(chunk=chunk)

    image_files_grpc.ImageFileServiceStub(channel).UploadImage(parts(), metadata=session)
    uploaded = disk_images_grpc.DiskImageServiceStub(channel).GetDiskImage(
        disk_images.GetDiskImageRequest(id=image), metadata=session).data
    print(f"uploaded disk image {image}: {uploaded.size} bytes, created={str(uploaded.created).lower()}")

    # Proto field names that are Python keywords are renamed in the protos (JSON keeps its name): `is_global`, not `global`.
    print("done")


if __name__ == "__main__":
    main()
