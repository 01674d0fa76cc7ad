/**
 * Node's own floor of a CRI call (bench/call-cost.bench.ts): node:http2 on the unix socket argv[2],
 * answering every request with the fixed gRPC message of its path from BARE_ANSWERS_HEX (JSON: path
 * to the serialized response, hex), headers, message, OK trailers. No decoding, no handler: what
 * any HTTP/2 server in Node.js pays for a unary call.
 */
import fs from 'fs';
import http2 from 'http2';
import { frameMessage } from '../src/grpc/wire';

const answers = new Map<string, Buffer>(
  Object.entries(JSON.parse(process.env.BARE_ANSWERS_HEX ?? '{}') as Record<string, string>).map(
    ([p, hex]) => [p, frameMessage(Buffer.from(hex, 'hex'))],
  ),
);
const empty = frameMessage(new Uint8Array(0));
const server = http2.createServer();
server.on('stream', (stream: http2.ServerHttp2Stream, headers) => {
  stream.on('error', () => undefined);
  stream.resume();
  stream.once('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(answers.get(String(headers[':path'])) ?? empty);
  });
});
fs.rmSync(process.argv[2], { force: true });
server.listen(process.argv[2]);
