import { execFile } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import type { Deps } from '../deps';
import { CriError } from '../grpc/status-error';
import { status } from '../grpc/status-codes';
import { findImage } from './lookup';
import { pullImage } from './pull-image';
import { parseImageReference, pullTarget } from '../translate/image-ref';
import { logger } from '../logger';
import { packagedLibDir } from '../sea';
import { ProgramError } from '../errors';

const run = promisify(execFile);

/** One tarball entry: a regular file at the archive's root. */
export interface TarFile {
  name: string;
  mode: number;
  data: Buffer;
}

/** A ustar archive of plain files (all `docker import` needs for a one-binary image). Pure. */
export function tarArchive(files: readonly TarFile[], mtime = 0): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    if (Buffer.byteLength(f.name) > 100) throw new Error(`tar entry name too long: ${f.name}`);
    const h = Buffer.alloc(512, 0);
    const put = (text: string, offset: number, len: number): void => {
      h.write(text, offset, len, 'ascii');
    };
    const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;
    put(f.name, 0, 100);
    put(octal(f.mode, 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(f.data.length, 12), 124, 12);
    put(octal(mtime, 12), 136, 12);
    put('        ', 148, 8);
    put('0', 156, 1);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    put('root', 265, 32);
    put('root', 297, 32);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(h, f.data);
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return Buffer.concat(blocks);
}

/** Where shims/pause is: the flag, else the packaged executable's lib dir, else the source tree or dist/. */
export function pauseSourceDirs(configured: string): string[] {
  if (configured) return [configured];
  const packaged = packagedLibDir();
  if (packaged) return [path.join(packaged, 'pause')];
  return [path.resolve(__dirname, '../../shims/pause'), path.resolve(__dirname, '../../../shims/pause')];
}

/** The pause binary: a prebuilt `pause` in the source directory, else pause.c built with gcc -static. */
async function pauseBinary(dirs: readonly string[]): Promise<{ data: Buffer; from: string }> {
  for (const dir of dirs) {
    const prebuilt = path.join(dir, 'pause');
    if (fs.existsSync(prebuilt) && fs.statSync(prebuilt).isFile()) {
      return { data: fs.readFileSync(prebuilt), from: prebuilt };
    }
    const source = path.join(dir, 'pause.c');
    if (!fs.existsSync(source)) continue;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-pause-'));
    try {
      const out = path.join(work, 'pause');
      await run('gcc', ['-static', '-Os', '-o', out, source]).catch((err: unknown) => {
        throw new ProgramError('gcc', err);
      });
      await run('strip', [out]).catch(() => undefined);
      return { data: fs.readFileSync(out), from: source };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  throw new Error(`no pause source (pause.c or a prebuilt pause) in ${dirs.join(', ')}`);
}

/** Builds the pause image offline and tags it `image`. */
export async function buildPauseImage(deps: Deps, image: string): Promise<void> {
  const { data, from } = await pauseBinary(pauseSourceDirs(deps.config.pauseSourceDir));
  const ref = parseImageReference(image);
  const { fromImage, tag } = pullTarget(ref);
  if (ref.digest) throw new Error(`cannot tag a built image with a digest reference "${image}"`);
  const tarball = tarArchive([{ name: 'pause', mode: 0o755, data }]);
  const text = await deps.engine.importImage(
    tarball,
    {
      repo: fromImage,
      tag,
      changes: ['ENTRYPOINT ["/pause"]', 'LABEL io.docker-cri.built-from=shims/pause'],
    },
    { context: `image "${image}"` },
  );
  const failed = /"error"\s*:\s*"([^"]*)"/.exec(text);
  if (failed) throw new Error(failed[1]);
  logger.warn('pause image could not be pulled; built it offline instead', { image, from });
}

/**
 * Makes sure the configured pause image is present and answers its id: pulled when absent, built
 * from shims/pause when it cannot be pulled (an air-gapped node). Concurrent callers share one try.
 */
export function ensurePauseImage(deps: Deps): Promise<string> {
  const image = deps.config.podInfraContainerImage;
  const inFlight = deps.pauseImageTries;
  let p = inFlight.get(image);
  if (!p) {
    // Not tied to one caller's cancellation: other RunPodSandbox calls may be waiting on it too.
    p = obtain(deps, image, new AbortController().signal).finally(() => inFlight.delete(image));
    inFlight.set(image, p);
  }
  return p;
}

async function obtain(deps: Deps, image: string, signal: AbortSignal): Promise<string> {
  const present = await findImage(deps, image);
  if (present) return present.Id;
  let pullError: string;
  try {
    const res = await pullImage(deps)(
      {
        image: { image, annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' },
        auth: null,
        sandbox_config: null,
      },
      { signal },
    );
    logger.info('pause image pulled', { image, id: res.image_ref });
    return res.image_ref ?? image;
  } catch (err) {
    pullError = (err as Error).message;
  }
  logger.warn('pause image cannot be pulled; building it from shims/pause', { image, error: pullError });
  try {
    await buildPauseImage(deps, image);
  } catch (err) {
    throw new CriError(
      status.FAILED_PRECONDITION,
      `pause image "${image}" is absent, cannot be pulled (${pullError}) and could not be built: ${(err as Error).message}`,
    );
  }
  const built = await findImage(deps, image);
  if (!built)
    throw new CriError(status.INTERNAL, `pause image "${image}" was built but the engine does not have it`);
  return built.Id;
}
