import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Dockerode from 'dockerode';
import { LABEL_LOG_PATH, LABEL_TYPE, TYPE_CONTAINER } from '../../src/translate/labels';

/** Helpers of the log tests: containers carrying the labels the log manager follows. */

export function engine(): Dockerode {
  return new Dockerode({ socketPath: (process.env.DOCKER_HOST ?? '').replace(/^unix:\/\//, '') });
}

export interface LoggedContainer {
  id: string;
  logPath: string;
  dir: string;
}

/** Registry of what a test file made, removed in afterAll even when a test failed. */
export class Made {
  readonly containers: string[] = [];
  readonly dirs: string[] = [];

  async cleanup(docker: Dockerode): Promise<void> {
    for (const id of this.containers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** Creates (and by default starts) a busybox container whose output the log manager must copy. */
export async function loggedContainer(
  docker: Dockerode,
  made: Made,
  script: string,
  opts: { tty?: boolean; start?: boolean; logDriver?: string; logOpts?: Record<string, string> } = {},
): Promise<LoggedContainer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-logs-'));
  made.dirs.push(dir);
  const logPath = path.join(dir, 'c', '0.log');
  fs.mkdirSync(path.dirname(logPath));
  const c = await docker.createContainer({
    name: `dcri-logs-${crypto.randomBytes(6).toString('hex')}`,
    Image: 'busybox:latest',
    Cmd: ['sh', '-c', script],
    Tty: !!opts.tty,
    Labels: { [LABEL_TYPE]: TYPE_CONTAINER, [LABEL_LOG_PATH]: logPath, 'dcri-test': 'yes' },
    HostConfig: { LogConfig: { Type: opts.logDriver ?? 'json-file', Config: opts.logOpts ?? {} } },
  });
  made.containers.push(c.id);
  if (opts.start !== false) await c.start();
  return { id: c.id, logPath, dir };
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 60_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The position file says the container's output has been written completely. */
export function outputDone(rootDirectory: string, id: string): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(rootDirectory, 'logs', `${id}.pos`), 'utf8')).done === true;
  } catch {
    return false;
  }
}

export interface Rec {
  ts: string;
  stream: string;
  tag: string;
  msg: Buffer;
}

/**
 * The records of a CRI log file still being written: the complete lines only. A write in progress
 * (or one cut by a kill -9, which the next pump repairs) can leave a last line without its newline
 * for a moment; a reader following the file, as the kubelet does, waits for the rest.
 */
export function completeRecords(file: string): Rec[] {
  if (!fs.existsSync(file)) return [];
  const buf = fs.readFileSync(file);
  return parseRecords(file, buf.subarray(0, buf.lastIndexOf(0x0a) + 1));
}

/** Parses a CRI log file strictly: every line must be a record. */
export function records(file: string): Rec[] {
  if (!fs.existsSync(file)) return [];
  return parseRecords(file, fs.readFileSync(file));
}

function parseRecords(file: string, buf: Buffer): Rec[] {
  const out: Rec[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) throw new Error(`${file}: last line has no newline`);
    const line = buf.subarray(start, nl);
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) /.exec(
      line.toString('latin1'),
    );
    if (!m) throw new Error(`${file}: not a CRI record: ${JSON.stringify(line.toString())}`);
    out.push({ ts: m[1], stream: m[2], tag: m[3], msg: line.subarray(m[0].length) });
    start = nl + 1;
  }
  return out;
}

/** Joins P…F records into whole lines, per stream. */
export function lines(recs: Rec[], stream?: string): string[] {
  const out: string[] = [];
  const open: Record<string, Buffer[]> = {};
  for (const r of recs) {
    if (stream && r.stream !== stream) continue;
    (open[r.stream] ??= []).push(r.msg);
    if (r.tag === 'F') {
      out.push(Buffer.concat(open[r.stream]).toString());
      open[r.stream] = [];
    }
  }
  return out;
}
