import { status } from '@grpc/grpc-js';

/** An error that already knows its gRPC status code; everything else is mapped in docker/errors.ts. */
export class CriError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** The engine's HTTP status when this came from a Docker call. */
    readonly dockerStatus?: number,
  ) {
    super(message);
    this.name = 'CriError';
  }
}

export const invalidArgument = (msg: string): CriError => new CriError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): CriError => new CriError(status.NOT_FOUND, msg);
export const failedPrecondition = (msg: string): CriError => new CriError(status.FAILED_PRECONDITION, msg);
export const deadlineExceeded = (msg: string): CriError => new CriError(status.DEADLINE_EXCEEDED, msg);
export const unimplemented = (msg: string): CriError => new CriError(status.UNIMPLEMENTED, msg);
export const unavailable = (msg: string): CriError => new CriError(status.UNAVAILABLE, msg);
