import { startShim, type TestShim } from '../support/shim';
import { removeTestPods } from '../support/pod-config';
import { collect, remoteCommand, spdyConnect } from '../support/spdy-client';
import { Cri, type Pod } from './container-support';

jest.setTimeout(120_000);

interface Url {
  url: string;
}

/** The same streaming paths, on a pod and container made through the CRI as the kubelet makes them. */
describe('streaming into a CRI-made pod', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  let web: string;

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
    pod = await cri.pod('stream');
    web = await cri.run(
      pod,
      'mkdir -p /tmp/www && echo hello-cri-pod > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www',
    );
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('execs in the container with stdin', async () => {
    const { url } = await shim.client.rt<Url>('Exec', {
      container_id: web,
      cmd: ['sh', '-c', 'read x; echo "pod says $x"'],
      stdin: true,
      stdout: true,
    });
    const rc = await remoteCommand(url, { stdin: true, stderr: false });
    rc.stdin!.end('hi\n');
    const res = await rc.result;
    expect(res.stdout.toString()).toBe('pod says hi\n');
    expect(JSON.parse(res.error).status).toBe('Success');
  });

  it('forwards to the port the container bound on the pod loopback', async () => {
    const { url } = await shim.client.rt<Url>('PortForward', { pod_sandbox_id: pod.id, port: [8080] });
    const conn = await spdyConnect(url, ['portforward.k8s.io']);
    const session = conn.session!;
    const err = session.openStream({ streamtype: ['error'], port: ['8080'], requestid: ['0'] });
    err.end();
    const data = session.openStream({ streamtype: ['data'], port: ['8080'], requestid: ['0'] });
    data.end('GET /index.html HTTP/1.0\r\n\r\n');
    expect((await collect(data)).toString()).toContain('hello-cri-pod');
    expect((await collect(err)).toString()).toBe('');
    await session.close();
  });
});
