import fs from 'fs';
import path from 'path';
import { must } from './proc';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
}

/** A throw-away CA for this run (two days), made with openssl. */
export async function makeCa(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true });
  const ca = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  await must('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=docker-cri-e2e-ca',
  ]);
  return { dir, ca, caKey };
}

/**
 * A certificate signed by the run's CA: `subject` like `/O=system:nodes/CN=system:node:n1`,
 * `sans` (IP or DNS names) make it a serving certificate too.
 */
export async function makeCert(
  pki: Pki,
  name: string,
  subject: string,
  sans: readonly string[] = [],
): Promise<{ cert: string; key: string }> {
  const key = path.join(pki.dir, `${name}.key`);
  const cert = path.join(pki.dir, `${name}.crt`);
  const csr = path.join(pki.dir, `${name}.csr`);
  const ext = path.join(pki.dir, `${name}.ext`);
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment'];
  if (sans.length) {
    lines.push('extendedKeyUsage=serverAuth,clientAuth');
    lines.push('subjectAltName=' + sans.map((s) => (/^[\d.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(','));
  } else {
    lines.push('extendedKeyUsage=clientAuth');
  }
  fs.writeFileSync(ext, lines.join('\n') + '\n');
  await must('openssl', ['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', subject]);
  await must('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.ca,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

/** The service-account signing key pair of the apiserver and controller-manager. */
export async function makeServiceAccountKey(pki: Pki): Promise<{ key: string; pub: string }> {
  const key = path.join(pki.dir, 'sa.key');
  const pub = path.join(pki.dir, 'sa.pub');
  await must('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await must('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}

export function writeKubeconfig(
  file: string,
  server: string,
  ca: string,
  cred: { cert: string; key: string },
): void {
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority: ${ca}`,
      'users:',
      '- name: e2e',
      '  user:',
      `    client-certificate: ${cred.cert}`,
      `    client-key: ${cred.key}`,
      'contexts:',
      '- name: e2e',
      '  context: {cluster: e2e, user: e2e}',
      'current-context: e2e',
      '',
    ].join('\n'),
  );
}
