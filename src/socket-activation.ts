/** sd_listen_fds(3): systemd hands sockets over from fd 3 on. */
const LISTEN_FDS_START = 3;

/**
 * The first socket systemd (or systemd-socket-activate) handed over, or undefined when none was
 * handed to this process. LISTEN_PID guards against variables inherited from a parent that was
 * activated itself; the variables are removed, as sd_listen_fds(unset=1) does, so that processes
 * we start never take the socket for theirs.
 */
export function takeHandedSocket(
  env: NodeJS.ProcessEnv = process.env,
  pid = process.pid,
): number | undefined {
  const count = Number(env.LISTEN_FDS ?? '');
  const forUs = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(count) || count < 1) return undefined;
  return LISTEN_FDS_START;
}
