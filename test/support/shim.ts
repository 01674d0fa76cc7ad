import fs from 'fs';
import os from 'os';
import path from 'path';
import { defaultConfig, type Config } from '../../src/config';
import { startApp, type App, type AppTuning } from '../../src/app';
import { CriClient } from './cri-client';

export interface TestShim {
  app: App;
  client: CriClient;
  config: Config;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts docker-cri in this process on a fresh temp socket against the test engine, with a client
 * connected to it through the real unix socket.
 */
export async function startShim(overrides: Partial<Config> = {}, tuning: AppTuning = {}): Promise<TestShim> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-test-'));
  const config: Config = {
    ...defaultConfig(process.env),
    containerRuntimeEndpoint: `unix://${path.join(dir, 'cri.sock')}`,
    rootDirectory: path.join(dir, 'root'),
    logLevel: process.env.DCRI_TEST_LOG_LEVEL ?? 'error',
    ...overrides,
  };
  const app = await startApp(config, tuning);
  const client = new CriClient(path.join(dir, 'cri.sock'));
  return {
    app,
    client,
    config,
    dir,
    async stop() {
      client.close();
      await app.stop(5000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
