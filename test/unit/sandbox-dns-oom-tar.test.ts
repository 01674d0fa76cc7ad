import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { dnsConfigProblem, dockerDns, renderResolvConf } from '../../src/network/dns';
import { makeOomClamp, probeNegativeOomScoreAdj } from '../../src/host/oom-score';
import { tarArchive } from '../../src/image/pause-image';

describe('DNS config', () => {
  const dns = {
    servers: ['10.96.0.10', 'fd00::a'],
    searches: ['ns.svc.cluster.local', 'svc.cluster.local'],
    options: ['ndots:5'],
  };

  it("renders exactly what DnsConfig says, in Docker's order", () => {
    expect(renderResolvConf(dns)).toBe(
      'search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5\n',
    );
    expect(renderResolvConf({ servers: ['1.2.3.4'], searches: [], options: [] })).toBe(
      'nameserver 1.2.3.4\n',
    );
    expect(renderResolvConf({ servers: [], searches: [], options: [] })).toBe('');
  });

  it('gives Docker the lists, with "." for no search domains', () => {
    expect(dockerDns(null)).toEqual({});
    expect(dockerDns(dns)).toEqual({
      Dns: ['10.96.0.10', 'fd00::a'],
      DnsSearch: ['ns.svc.cluster.local', 'svc.cluster.local'],
      DnsOptions: ['ndots:5'],
    });
    expect(dockerDns({ servers: ['1.1.1.1'], searches: [], options: [] })).toEqual({
      Dns: ['1.1.1.1'],
      DnsSearch: ['.'],
    });
  });

  it('names the bad entry', () => {
    expect(dnsConfigProblem(dns)).toBeUndefined();
    expect(dnsConfigProblem({ servers: ['300.1.1.1'], searches: [], options: [] })).toMatch(/servers\[0\]/);
    expect(dnsConfigProblem({ servers: [], searches: ['a b'], options: [] })).toMatch(/searches\[0\]/);
    expect(dnsConfigProblem({ servers: [], searches: [], options: [''] })).toMatch(/options\[0\]/);
  });
});

describe('oom_score_adj clamp', () => {
  it('passes values through where negatives are allowed', () => {
    const warn = jest.fn();
    const clamp = makeOomClamp(true, warn);
    expect(clamp(-998)).toBe(-998);
    expect(warn).not.toHaveBeenCalled();
  });

  it('clamps negatives to 0 with one warning where they are refused', () => {
    const warn = jest.fn();
    const clamp = makeOomClamp(false, warn);
    expect(clamp(-998)).toBe(0);
    expect(clamp(-1)).toBe(0);
    expect(clamp(500)).toBe(500);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/-998/);
  });

  it('probes by writing and restoring', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-oom-')), 'oom_score_adj');
    fs.writeFileSync(f, '0\n');
    expect(probeNegativeOomScoreAdj(f)).toBe(true);
    expect(fs.readFileSync(f, 'utf8')).toBe('0');
    expect(probeNegativeOomScoreAdj(path.join(f, 'missing'))).toBe(true);
  });
});

describe('tarArchive', () => {
  it('makes a ustar file tar(1) reads back with mode and content', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-tar-'));
    const data = Buffer.from('#!/bin/true\n'.repeat(100));
    fs.writeFileSync(path.join(dir, 'x.tar'), tarArchive([{ name: 'pause', mode: 0o755, data }]));
    expect(execFileSync('tar', ['-tvf', path.join(dir, 'x.tar')]).toString()).toMatch(
      /^-rwxr-xr-x .* pause\n$/,
    );
    execFileSync('tar', ['-xf', path.join(dir, 'x.tar'), '-C', dir]);
    expect(fs.readFileSync(path.join(dir, 'pause')).equals(data)).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
