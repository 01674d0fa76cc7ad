import { spawn } from 'child_process';
import net from 'net';
import { PORT_RELAY_FLAG, relayCommand } from '../../src/streaming/pod-dialer';

/**
 * The port-forward relay's command (what nsenter runs in the pod's namespace), and the `node -e`
 * form run for real against a local port. The single executable's form is run for real by
 * packaging-deb.test.ts on the built executable.
 */
describe('relayCommand', () => {
  it.each<[boolean, string[]]>([
    [true, ['/usr/bin/docker-cri', PORT_RELAY_FLAG, '8080']],
    [false, ['/usr/bin/node', '-e', expect.stringContaining('net.connect(port, "127.0.0.1")'), '8080']],
  ])('packaged %p', (packaged, want) => {
    const exe = packaged ? '/usr/bin/docker-cri' : '/usr/bin/node';
    expect(relayCommand(8080, packaged, exe)).toEqual(want);
  });

  it('the node -e form relays both ways and exits when the connection closes', async () => {
    const server = net.createServer((c) => c.on('data', (d) => c.end(`echo:${String(d)}`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const [cmd, ...args] = relayCommand(port, false);
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stdin.write('ping');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect({ code, out }).toEqual({ code: 0, out: 'echo:ping' });
    } finally {
      server.close();
    }
  });

  it('the node -e form says why when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const [cmd, ...args] = relayCommand(port, false);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(1);
    expect(err).toMatch(/ECONNREFUSED/);
  });
});
