import { invalidArgument } from '../grpc/status-error';

/**
 * Checks a container or sandbox id from a request before it goes anywhere near Docker: only a full
 * 64-hex id or a shorter hex prefix is accepted, never a name or a path (Docker would read
 * `../x` as another API route).
 */
export function checkId(value: string | undefined, field: string, what: string): string {
  if (!value) throw invalidArgument(`${field} is empty: a ${what} id is required`);
  if (!/^[0-9a-f]{1,64}$/.test(value)) {
    throw invalidArgument(`${field} "${value.slice(0, 100)}" is not a ${what} id (hex digits)`);
  }
  return value;
}
