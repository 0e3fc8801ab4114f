// A Node.js client of Nano.Grpc over gRPC: log in, create a guest and watch its creation to the end, upload a disk image.
//
// Generated code first (from the repository root): (cd examples/node && npm ci) && tools/node_modules/.bin/buf generate
// Run:  NANO_PASSWORD=... node examples/node/example.js --server https://127.0.0.1:5871 --ca .nano/tls/ca.pem --user admin --image some.qcow2
import { readFileSync, createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient, Code, ConnectError } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SessionService } from './gen/nano/v1/session_service_pb.js';
import { GuestService } from './gen/nano/v1/guest_service_pb.js';
import { OperationService } from './gen/nano/v1/operation_service_pb.js';
import { DiskImageService } from './gen/nano/v1/disk_image_service_pb.js';
import { ImageFileService, ImageKind } from './gen/nano/v1/image_file_service_pb.js';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' }, ca: { type: 'string' }, user: { type: 'string' },
    pool: { type: 'string', default: 'default' }, name: { type: 'string', default: 'node-example' }, image: { type: 'string' },
  },
});

// gRPC over HTTP/2 with TLS, trusting the zone's CA.
const transport = createGrpcTransport({ baseUrl: args.server, nodeOptions: { ca: readFileSync(args.ca) } });

// Log in. The generated messages keep the API's field names in lowerCamelCase (sessionId for session_id); the wire
// and the server's JSON are unchanged. The session goes as the metadata "nano-session" on every later call.
const login = await createClient(SessionService, transport).createSession({ user: args.user, password: process.env.NANO_PASSWORD, nonce: 'node' });
const headers = { 'nano-session': login.data.session };
console.log(`logged in as ${args.user}, group ${login.data.group}`);

const guests = createClient(GuestService, transport);
try {
  await guests.getGuest({ id: 'no-such-guest' }, { headers });
} catch (error) {
  const failure = ConnectError.from(error);
  console.log(`as expected: ${Code[failure.code]} ${failure.rawMessage}`);
}

// Create a guest; its creation is an operation: watch it (a server stream) until it ends.
const created = await guests.createGuest({
  name: args.name, pool: args.pool, template: '0qodbfbd15imbt3g0004', cores: 1, memory: 128n << 20n, disks: [1n << 30n],
}, { headers });
const guest = created.data.id;
console.log(`guest ${guest} accepted`);
const operations = createClient(OperationService, transport);
const operation = (await operations.listOperations({ target: guest }, { headers })).data[0].id;
let last;
for await (const update of operations.watchOperation({ id: operation }, { headers })) {
  last = update.data;
  console.log(`operation ${operation}: ${last.state} ${last.percent}% ${last.stage}`);
  if (last.finished) break;
}
if (!last || last.state !== 'succeeded') {
  console.error(`creation ended ${last?.state}: ${last?.error}`);
  process.exit(1);
}

// Upload a disk image: its record, then its file as a client stream (the target first, then chunks of at most 1 MiB).
const image = (await createClient(DiskImageService, transport).createDiskImage({ name: `${args.name}-disk` }, { headers })).data.id;
async function* parts() {
  yield { part: { case: 'target', value: { kind: ImageKind.DISK, id: image } } };
  for await (const chunk of createReadStream(args.image, { highWaterMark: 1 << 20 })) {
    yield { part: { case: 'chunk', value: new Uint8Array(chunk) } };
  }
}
await createClient(ImageFileService, transport).uploadImage(parts(), { headers });
const uploaded = (await createClient(DiskImageService, transport).getDiskImage({ id: image }, { headers })).data;
console.log(`uploaded disk image ${image}: ${uploaded.size} bytes, created=${uploaded.created}`);
console.log('done');
