import type { Config } from './config';
import type { DockerClient } from './docker/client';

/**
 * What handlers share. Built once in app.ts; every field is either configuration or a cache that can
 * be rebuilt from Docker, never state of its own.
 */
export interface Deps {
  config: Config;
  docker: DockerClient;
  /** Pod networking other than Docker's bridge (CNI); absent means the engine's bridge. */
  network?: {
    readiness(): Promise<{ ready: boolean; reason: string; message: string }>;
  };
}
