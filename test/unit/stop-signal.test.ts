import { Signal } from '../../src/generated/runtime/v1/Signal';
import { fromDockerStopSignal, toDockerStopSignal } from '../../src/translate/stop-signal';

describe('stop signal', () => {
  it.each([
    ['SIGNAL_SIGUSR1', 'SIGUSR1'],
    ['SIGNAL_SIGTERM', 'SIGTERM'],
    ['SIGNAL_SIGRTMINPLUS3', 'SIGRTMIN+3'],
    ['SIGNAL_SIGRTMAXMINUS2', 'SIGRTMAX-2'],
    ['SIGNAL_SIGRTMIN', 'SIGRTMIN'],
    ['SIGNAL_SIGCLD', 'SIGCHLD'],
    ['SIGNAL_SIGIOT', 'SIGABRT'],
  ])('%s is Docker StopSignal %s', (cri, docker) => {
    expect(toDockerStopSignal(cri)).toBe(docker);
  });

  it('leaves the runtime default unset, takes enum numbers, refuses unknown names', () => {
    expect(toDockerStopSignal('SIGNAL_RUNTIME_DEFAULT')).toBeUndefined();
    expect(toDockerStopSignal(undefined)).toBeUndefined();
    expect(toDockerStopSignal(0)).toBeUndefined();
    expect(toDockerStopSignal(29)).toBe('SIGUSR1');
    expect(() => toDockerStopSignal('SIGNAL_SIGNOPE')).toThrow(/config.stop_signal/);
    expect(() => toDockerStopSignal(999)).toThrow(/config.stop_signal 999/);
  });

  it('reads Docker values back, SIGTERM when none is set', () => {
    expect(fromDockerStopSignal('')).toBe('SIGNAL_SIGTERM');
    expect(fromDockerStopSignal(undefined)).toBe('SIGNAL_SIGTERM');
    expect(fromDockerStopSignal('SIGUSR1')).toBe('SIGNAL_SIGUSR1');
    expect(fromDockerStopSignal('usr2')).toBe('SIGNAL_SIGUSR2');
    expect(fromDockerStopSignal('10')).toBe('SIGNAL_SIGUSR1');
    expect(fromDockerStopSignal('SIGRTMIN+3')).toBe('SIGNAL_SIGRTMINPLUS3');
    expect(fromDockerStopSignal('37')).toBe('SIGNAL_SIGRTMINPLUS3');
    expect(fromDockerStopSignal('SIGRTMAX-1')).toBe('SIGNAL_SIGRTMAXMINUS1');
    expect(fromDockerStopSignal('64')).toBe('SIGNAL_SIGRTMAX');
    expect(fromDockerStopSignal('SIGBOGUS')).toBe('SIGNAL_RUNTIME_DEFAULT');
  });

  it('round-trips every CRI signal except the aliases Docker spells differently', () => {
    const aliases = new Set(['SIGNAL_SIGCLD', 'SIGNAL_SIGIOT', 'SIGNAL_SIGPOLL', 'SIGNAL_RUNTIME_DEFAULT']);
    for (const name of Object.keys(Signal)) {
      if (aliases.has(name)) continue;
      expect(fromDockerStopSignal(toDockerStopSignal(name))).toBe(name);
    }
  });
});
