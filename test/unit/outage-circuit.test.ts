import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../libs/logger/logger.js';
import { createOutageCircuit } from '../../services/archiver/outage-circuit.js';

/** The circuit's state machine with probes the test switches (the real probes are exercised by the outage integration tests). */
function circuitWith(up: { postgres: boolean; pictures: boolean }) {
  const registry = new Registry();
  const calls = { postgres: 0, pictures: 0 };
  const probe = (dependency: 'postgres' | 'pictures') => async () => {
    calls[dependency] += 1;
    if (!up[dependency]) throw new Error(`${dependency} down`);
  };
  const circuit = createOutageCircuit({
    probes: { postgres: probe('postgres'), pictures: probe('pictures') },
    probeIntervalMs: 5,
    probeTimeoutMs: 1_000,
    registry,
    logger: createLogger('test', 'silent'),
  });
  const gauge = async (dependency: string) => new RegExp(`hikhub_archiver_circuit_open\\{dependency="${dependency}"\\} (\\d)`).exec(await registry.metrics())?.[1];
  return { circuit, calls, gauge };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
};

describe('outage circuit', () => {
  it('stays closed when a trip finds every dependency answering (a blip)', async () => {
    const { circuit, gauge } = circuitWith({ postgres: true, pictures: true });
    expect(await circuit.trip()).toBe(false);
    expect(circuit.isOpen()).toBe(false);
    expect(await gauge('postgres')).toBe('0');
  });

  it('opens on a failing probe, probes while open, and closes only when both answer', async () => {
    const up = { postgres: false, pictures: false };
    const { circuit, calls, gauge } = circuitWith(up);
    const changes: boolean[] = [];
    circuit.onChange((open) => changes.push(open));
    circuit.start();
    expect(await circuit.trip()).toBe(true);
    expect(circuit.openDependency()).toBe('postgres');
    expect([await gauge('postgres'), await gauge('pictures')]).toEqual(['1', '1']);

    up.postgres = true;
    await until(() => circuit.openDependency() === 'pictures');
    expect(circuit.isOpen()).toBe(true);
    expect(await gauge('postgres')).toBe('0');

    up.pictures = true;
    await until(() => !circuit.isOpen());
    expect(await gauge('pictures')).toBe('0');
    // One open and one close, never a moment closed while pictures was still away.
    expect(changes).toEqual([true, false]);

    // Closed: no more probing.
    const probesSoFar = calls.postgres;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls.postgres).toBe(probesSoFar);
    await circuit.stop();
  });

  it('shares one probe between many jobs failing at once', async () => {
    const { circuit, calls } = circuitWith({ postgres: false, pictures: true });
    const confirmed = await Promise.all(Array.from({ length: 50 }, () => circuit.trip()));
    expect(confirmed.every(Boolean)).toBe(true);
    expect(calls.postgres).toBe(1);
  });
});
