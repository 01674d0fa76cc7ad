import { invalidArgument } from '../grpc/status-error';

const HEX_ID = /^[0-9a-f]{1,64}$/;
/** How much of an id a message repeats: hostile ids may be megabytes long. */
const SHOWN = 100;

/** An id as messages quote it. */
export function shownId(value: string | undefined): string {
  const v = value ?? '';
  return v.length > SHOWN ? `${v.slice(0, SHOWN)}…` : v;
}

/**
 * The gate every container or sandbox id from a request passes before any lookup.
 * - Empty: INVALID_ARGUMENT naming the field (the one id that is malformed whatever the call).
 * - Not hex (a UUID, a name, a path): it cannot be a Docker id, so it matches nothing; undefined,
 *   and it never reaches Docker (which would read a name as a name and `../x` as another route).
 *   Callers answer as for any id that matches nothing: OK for stop/remove, NOT_FOUND otherwise.
 * - Hex: a full id or a prefix, returned for the lookup.
 */
export function idToLookUp(value: string | undefined, field: string, what: string): string | undefined {
  if (!value) throw invalidArgument(`${field} is empty: a ${what} id is required`);
  return HEX_ID.test(value) ? value : undefined;
}
