import type { KeyValue__Output } from '../generated/runtime/v1/KeyValue';
import { ValidationError } from '../errors';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * KeyValue.value is bytes since cri-api v0.34. Docker takes Env as JSON strings and Go's JSON
 * decoder turns every invalid UTF-8 byte into U+FFFD, and execve ends a value at a NUL: so any
 * UTF-8 value without NUL reaches the container byte for byte, and anything else is refused here
 * instead of arriving silently altered.
 */
export function envValue(kv: KeyValue__Output, index: number): string {
  const bytes = kv.value ?? Buffer.alloc(0);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ValidationError(
      `config.envs[${index}] "${kv.key}": value is not valid UTF-8, which Docker's API cannot carry byte for byte`,
    );
  }
  if (text.includes('\0'))
    throw new ValidationError(`config.envs[${index}] "${kv.key}": value contains a NUL byte`);
  return text;
}

/** Docker's Env list: KEY=value, values decoded as above. */
export function dockerEnv(envs: KeyValue__Output[] | null | undefined): string[] {
  return (envs ?? []).map((kv, i) => `${kv.key}=${envValue(kv, i)}`);
}
