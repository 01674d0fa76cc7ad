/**
 * gRPC status codes (the numbers are the protocol's, fixed by the gRPC spec). Defined here rather
 * than imported from @grpc/grpc-js: importing that package's index runs all of it, and the server
 * does not otherwise load it (src/grpc/h2-server.ts speaks the protocol over node:http2).
 */
export enum status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}
