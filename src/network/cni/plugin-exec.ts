import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { cniArgsText } from './runtime-config';
import type { RuntimeConf } from './types';
import { setClampedTimeout } from '../../concurrency/timer';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** A plugin that failed; the message carries the plugin's own words (its error JSON's msg/details). */
export class PluginError extends Error {
  constructor(
    message: string,
    readonly plugin: string,
    /** The CNI error code the plugin reported, if any (spec: 1-99 well-known, 100+ plugin-specific). */
    readonly cniCode?: number,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'PluginError';
  }
}

/** The first executable named `type` in the bin dirs, in order. */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string | undefined> {
  for (const dir of binDirs) {
    const file = path.join(dir, type);
    try {
      await fs.promises.access(file, fs.constants.X_OK);
      const st = await fs.promises.stat(file);
      if (st.isFile()) return file;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

/** What a failing plugin said, from its error JSON on stdout or else its stderr. Pure. */
export function pluginFailureText(stdout: string, stderr: string): { text: string; code?: number } {
  try {
    const doc = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    const msg = typeof doc.msg === 'string' ? doc.msg : '';
    const details = typeof doc.details === 'string' && doc.details !== '' ? doc.details : '';
    const text = [msg, details].filter((s) => s !== '').join(': ');
    if (text) return { text, code: typeof doc.code === 'number' ? doc.code : undefined };
  } catch {
    // not the spec's error JSON
  }
  const fallback = (stderr.trim() || stdout.trim()).split('\n').slice(-5).join(' | ');
  return { text: fallback || 'no error message' };
}

export interface ExecOptions {
  command: CniCommand;
  pluginPath: string;
  /** The plugin's type, for messages. */
  type: string;
  rt: RuntimeConf;
  stdin: string;
  binDirs: readonly string[];
  timeoutMs: number;
}

/** Runs one plugin binary as the CNI spec says: env vars in, config on stdin, result on stdout. */
export function execPlugin(opts: ExecOptions): Promise<string> {
  const { rt } = opts;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CNI_COMMAND: opts.command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifName,
    CNI_ARGS: cniArgsText(rt.args),
    CNI_PATH: opts.binDirs.join(':'),
  };
  const verb = opts.command.toLowerCase();
  return new Promise((resolve, reject) => {
    const child = spawn(opts.pluginPath, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setClampedTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A plugin that exits before reading stdin makes the write fail; its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PluginError(`CNI plugin "${opts.type}" could not be started: ${e.message}`, opts.type));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(
          new PluginError(
            `CNI plugin "${opts.type}" did not finish ${verb} within ${opts.timeoutMs} ms`,
            opts.type,
            undefined,
            true,
          ),
        );
      } else if (code === 0) {
        resolve(stdout);
      } else {
        const f = pluginFailureText(stdout, stderr);
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(
          new PluginError(
            `CNI plugin "${opts.type}" failed to ${verb} (${how}): ${f.text}`,
            opts.type,
            f.code,
          ),
        );
      }
    });
    child.stdin.end(opts.stdin);
  });
}
