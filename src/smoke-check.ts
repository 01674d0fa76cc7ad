#!/usr/bin/env node
/**
 * `node dist/src/smoke-check.js [socket]`: a minimal CRI client for packaging checks (the compose
 * `smoke` profile, a freshly installed node). It waits for the socket, asks Version, Status and
 * ImageFsInfo, prints one JSON line and exits 0 only when the runtime says it is ready.
 */
import fs from 'fs';
import * as grpc from '@grpc/grpc-js';
import { loadCri } from './grpc/cri-package';
import type { StatusResponse__Output } from './generated/runtime/v1/StatusResponse';
import type { VersionResponse__Output } from './generated/runtime/v1/VersionResponse';
import type { ImageFsInfoResponse__Output } from './generated/runtime/v1/ImageFsInfoResponse';

const WAIT_MS = Number(process.env.SMOKE_WAIT_SECONDS ?? 60) * 1000;
const CALL_MS = 10_000;

type Unary<Res> = (
  req: object,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => void;

function call<Res>(client: grpc.Client, method: string, req: object): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<Res>>)[method];
  return new Promise((resolve, reject) =>
    fn.call(client, req, { deadline: Date.now() + CALL_MS }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    ),
  );
}

async function waitForSocket(socket: string): Promise<void> {
  const until = Date.now() + WAIT_MS;
  while (!fs.existsSync(socket)) {
    if (Date.now() > until) throw new Error(`no socket at ${socket} after ${WAIT_MS / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const socket = (process.argv[2] ?? '/run/docker-cri.sock').replace(/^unix:\/\//, '');
  await waitForSocket(socket);
  const cri = loadCri();
  const target = `unix://${socket}`;
  const runtime = new cri.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure());
  const image = new cri.runtime.v1.ImageService(target, grpc.credentials.createInsecure());
  try {
    const version = await call<VersionResponse__Output>(runtime, 'Version', {});
    const status = await call<StatusResponse__Output>(runtime, 'Status', {});
    const fsInfo = await call<ImageFsInfoResponse__Output>(image, 'ImageFsInfo', {});
    const conditions = status.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'RuntimeReady')?.status === true;
    process.stdout.write(
      JSON.stringify({
        socket,
        runtime: `${version.runtime_name} ${version.runtime_version}`,
        runtime_api_version: version.runtime_api_version,
        conditions: conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
        image_filesystems: fsInfo.image_filesystems.map((f) => f.fs_id?.mountpoint),
        ready,
      }) + '\n',
    );
    process.exitCode = ready ? 0 : 1;
  } finally {
    runtime.close();
    image.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`smoke-check: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
