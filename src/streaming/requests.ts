/** What Exec, Attach and PortForward store under a token; the streaming server acts on it later. */
export interface ExecTarget {
  kind: 'exec';
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachTarget {
  kind: 'attach';
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardTarget {
  kind: 'portforward';
  sandboxId: string;
  ports: number[];
}

export type StreamTarget = ExecTarget | AttachTarget | PortForwardTarget;
