/**
 * A pod's DNS settings, as the kubelet computed them, in the two forms the engine needs: Docker's
 * HostConfig fields and the exact resolv.conf text. Pure: no I/O.
 */
import type { DNSConfig__Output } from '../generated/runtime/v1/DNSConfig';

export interface DockerDns {
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
}

/**
 * Docker fills every empty list from the host's resolv.conf, which is not what the kubelet asked for.
 * A lone "." search domain is Docker's word for "no search line"; servers and options have no such
 * word, so the file is also rewritten afterwards (see renderResolvConf).
 */
export function dockerDns(dns: DNSConfig__Output | null | undefined): DockerDns {
  if (!dns) return {};
  const out: DockerDns = {};
  if (dns.servers.length) out.Dns = [...dns.servers];
  out.DnsSearch = dns.searches.length ? [...dns.searches] : ['.'];
  if (dns.options.length) out.DnsOptions = [...dns.options];
  return out;
}

/** The resolv.conf that says exactly what DnsConfig says, in the order Docker writes it. */
export function renderResolvConf(dns: DNSConfig__Output): string {
  const lines: string[] = [];
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** INVALID_ARGUMENT text for a malformed DnsConfig, or undefined when it is fine. */
export function dnsConfigProblem(dns: DNSConfig__Output | null | undefined): string | undefined {
  if (!dns) return undefined;
  for (const [i, s] of dns.servers.entries()) {
    if (!isIp(s)) return `config.dns_config.servers[${i}] "${s}" is not an IP address`;
  }
  for (const [i, s] of dns.searches.entries()) {
    if (!s || /\s/.test(s)) return `config.dns_config.searches[${i}] "${s}" is not a domain`;
  }
  for (const [i, o] of dns.options.entries()) {
    if (!o || /\s/.test(o)) return `config.dns_config.options[${i}] "${o}" is not a resolver option`;
  }
  return undefined;
}

function isIp(s: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) {
    return s.split('.').every((p) => Number(p) <= 255);
  }
  return /^[0-9a-fA-F:]+(%[\w.-]+)?$/.test(s) && s.includes(':');
}
