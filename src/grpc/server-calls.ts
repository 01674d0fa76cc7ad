import type { EventEmitter } from 'events';
import type { status } from './status-codes';

/** How a handler ends a call with a failure: a gRPC code and the text the client gets. */
export interface StatusObject {
  code: status;
  details: string;
}

/**
 * A unary call as its handler sees it: the decoded request, and 'cancelled' (emitted once) when the
 * client cancels it or its deadline passes before the answer went out.
 */
export interface UnaryCall<Req> {
  readonly request: Req;
  readonly cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

export type UnaryCallback<Res> = (err: StatusObject | null, res?: Res) => void;
export type UnaryHandler<Req, Res> = (call: UnaryCall<Req>, callback: UnaryCallback<Res>) => void;

/**
 * A server-streaming call: an object-mode writable of response messages. `write` returns false when
 * the handler should wait for 'drain'; `end()` ends the call with OK after what was written; emitting
 * 'error' with a StatusObject ends it with that status instead. 'cancelled' then 'close' come when
 * the client goes away (or the deadline passes) first.
 */
export interface StreamCall<Req, Res> extends EventEmitter {
  readonly request: Req;
  readonly cancelled: boolean;
  readonly writableFinished: boolean;
  write(message: Res, cb?: (err?: Error | null) => void): boolean;
  end(): unknown;
}

export type StreamHandler<Req, Res> = (call: StreamCall<Req, Res>) => void;

/** Any method's handler; which kind is the method's own (its definition's responseStream). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of every request and response type live in one map
export type AnyHandler = UnaryHandler<any, any> | StreamHandler<any, any>;

/** A method as the transport serves it: its path, kind and (de)serializers. */
export interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: unknown) => Buffer;
  requestDeserialize: (bytes: Buffer) => unknown;
  responseSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
  originalName?: string;
}

export type ServiceDefinition = Record<string, MethodDefinition>;
