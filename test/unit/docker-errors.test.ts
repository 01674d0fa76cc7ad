import { status } from '../../src/grpc/status-codes';
import { isNotFound, isNotModified, pullErrorCode, toCriError } from '../../src/docker/errors';
import { CriError } from '../../src/grpc/status-error';

function dockerErr(statusCode: number, message: string): Error {
  const e = new Error(`(HTTP code ${statusCode}) unexpected - ${message}`) as Error & {
    statusCode: number;
    json: { message: string };
  };
  e.statusCode = statusCode;
  e.json = { message };
  return e;
}

describe('toCriError', () => {
  it.each([
    [404, 'No such container: abc', status.NOT_FOUND],
    [409, 'Conflict. The container name "/x" is already in use', status.ALREADY_EXISTS],
    [409, 'You cannot remove a running container', status.FAILED_PRECONDITION],
    [304, '', status.FAILED_PRECONDITION],
    [400, 'bad parameter', status.INVALID_ARGUMENT],
    [500, 'boom', status.INTERNAL],
  ])('HTTP %d %j → %s', (code, msg, want) => {
    const e = toCriError(dockerErr(code, msg), 'container "abc"');
    expect(e.code).toBe(want);
    expect(e.message).toContain('container "abc"');
    if (msg) expect(e.message).toContain(msg);
  });

  it('maps an unreachable engine to UNAVAILABLE and a timeout to DEADLINE_EXCEEDED', () => {
    const down = Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' });
    expect(toCriError(down).code).toBe(status.UNAVAILABLE);
    const slow = Object.assign(new Error('docker ping took longer than 5 ms'), { code: 'DOCKER_TIMEOUT' });
    expect(toCriError(slow).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('keeps CriErrors and remembers the HTTP status', () => {
    const own = new CriError(status.INVALID_ARGUMENT, 'x');
    expect(toCriError(own)).toBe(own);
    expect(isNotFound(toCriError(dockerErr(404, 'gone')))).toBe(true);
    expect(isNotModified(toCriError(dockerErr(304, '')))).toBe(true);
  });
});

describe('pullErrorCode', () => {
  it.each([
    ['manifest for 127.0.0.1:5000/nope:latest not found: manifest unknown', status.NOT_FOUND],
    ['Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', status.UNAVAILABLE],
    ['Head "http://127.0.0.1:5001/v2/x/manifests/1": no basic auth credentials', status.UNAUTHENTICATED],
    ['unauthorized: authentication required', status.UNAUTHENTICATED],
    ['something else', status.UNKNOWN],
  ])('%s', (msg, want) => {
    expect(pullErrorCode(msg)).toBe(want);
  });
});
