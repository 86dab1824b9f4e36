// Fixtures of the OOM-prevention suite (SPEC C.5): the device each test runs on, the memory pressure simulator,
// the performance monitor, the recovery manager that drives the library's own classifier, ladder and probe, and
// daemons wired to private directories. Every fixture cleans up after itself, and the device checks at teardown
// that every tensor the test made was disposed.

import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { fixture, UsageError, type FixtureRequest, type OptionSpec } from '../runner/index.js';
import { selectDevice, describeActiveDevice, DeviceUnavailableError, type Device, type DeviceDescription, type DevicePreference } from '../src/device/index.js';
import { Daemon, type DaemonOptions } from '../src/daemon.js';
import { defaultGcHook } from '../src/gc.js';
import { CollectingInjector } from '../src/injector.js';
import { MemoryManager, type MemoryManagerOptions } from '../src/memory-manager.js';
import { PerformanceMonitor, type PerformanceMonitorOptions } from '../src/performance-monitor.js';
import { RecoveryLadder, RecoveryMetrics, RecoveryNotifier, type RecoveryNotification } from '../src/recovery/index.js';
import { MemoryPressureSimulator } from './support/pressure.js';
import { OOMRecoveryManager } from './support/recovery-manager.js';
import { scenario } from './support/scenarios.js';

// Leak detection samples after a forced GC (SPEC Decision 6). Node hides gc() unless started with --expose-gc; this
// turns it on for the suite's process so that every sample really follows a full collection.
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc = runInNewContext('gc');
}

/** `--device auto|cuda|cpu`; also PYTEST_TS_DEVICE. `cuda` fails fast when there is no usable GPU. */
export const options: OptionSpec[] = [
  {
    flag: '--device',
    type: 'string',
    choices: ['auto', 'cuda', 'cpu'],
    default: undefined,
    help: 'device for the memory suites: auto (a CUDA GPU when @tensorflow/tfjs-node-gpu sees one, else tfjs on the CPU under a byte budget), cuda (fail when there is no GPU), cpu',
  },
];

function preference(getoption: (name: string) => unknown): DevicePreference {
  const value = getoption('device') ?? process.env.PYTEST_TS_DEVICE ?? 'auto';
  if (value !== 'auto' && value !== 'cuda' && value !== 'cpu') throw new Error(`--device must be auto, cuda or cpu, got ${String(value)}`);
  return value;
}

let described: Promise<DeviceDescription> | undefined;

/** Which device this process uses, decided once: selecting probes for the GPU package and nvidia-smi. */
function describeOnce(prefer: DevicePreference): Promise<DeviceDescription> {
  described ??= (async () => {
    let probe: Device;
    try {
      // Opening a device allocates nothing; at the default budget its name is what the tests' devices are called.
      probe = await selectDevice({ prefer });
    } catch (error) {
      // `--device cuda` without a usable GPU: a configuration mistake, one line and exit 4 before any test runs.
      if (error instanceof DeviceUnavailableError) throw new UsageError(`--device ${prefer}: ${error.message}`);
      throw error;
    }
    const description = describeActiveDevice()!;
    probe.close();
    return description;
  })();
  return described;
}

/** The session header names the device (Decision 2): `device: cpu tfjs-cpu (budget ...) -- <why>`. */
export async function reportHeader(config: { getoption: Record<string, unknown> }): Promise<string> {
  const prefer = preference((name) => config.getoption[name]);
  const d = await describeOnce(prefer);
  return `device: ${d.kind} -- ${d.reason}`;
}

/** Autouse, once per session: the JUnit <properties> of the run say which device the suite ran on. */
export const activeDevice = fixture(
  { scope: 'session', autouse: true },
  async ({ request, recordTestsuiteProperty }: { request: FixtureRequest; recordTestsuiteProperty: (n: string, v: unknown) => void }) => {
    const prefer = preference((name) => request.config.getoption(name));
    const d = await describeOnce(prefer);
    recordTestsuiteProperty('device', d.kind);
    recordTestsuiteProperty('device_name', d.name);
    recordTestsuiteProperty('device_reason', d.reason);
    recordTestsuiteProperty('device_preference', prefer);
    return { ...d, prefer: d.kind === 'cuda' ? ('cuda' as const) : ('cpu' as const) };
  },
);

type ActiveDevice = DeviceDescription & { prefer: DevicePreference };

/**
 * Records a test's measurement (a slope, a latency) in the JUnit report as a suite property named
 * `<test>.<name>`. pytest's record_property would put a <properties> element inside the testcase, which
 * junit-10.xsd (Jenkins' schema) rejects; suite properties keep the report valid for every CI consumer.
 */
export const measurement = fixture(
  ({ request, recordTestsuiteProperty }: { request: FixtureRequest; recordTestsuiteProperty: (n: string, v: unknown) => void }) =>
    (name: string, value: unknown) => recordTestsuiteProperty(`${request.node.name}.${name}`, value),
);

/** The budget a test's device has: `load.budget_mb` in scenarios.yaml, else the 4 GB card of the incident. */
function budgetFor(request: FixtureRequest): number {
  const name = request.node.name.replace(/\[.*$/, '');
  try {
    const budget = scenario(name).load.budget_mb;
    return typeof budget === 'number' ? budget : 4096;
  } catch {
    return 4096;
  }
}

/** Opens devices at any budget on the active kind; closes them at teardown and checks no tensor was left behind. */
export const devices = fixture(function* ({ activeDevice }: { activeDevice: ActiveDevice }) {
  const opened: Device[] = [];
  const tensorsBefore = tf.memory().numTensors;
  yield {
    async open(budgetMB: number): Promise<Device> {
      const device = await selectDevice({ prefer: activeDevice.prefer, budgetMB });
      opened.push(device);
      return device;
    },
  };
  for (const device of opened.reverse()) device.close();
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) throw new Error(`${leaked} tfjs tensor(s) were still alive after the test closed its devices`);
});

export type Devices = { open(budgetMB: number): Promise<Device> };

/** The test's device, at the budget its scenario names (4096 MB by default). */
export const device = fixture(async ({ devices, request }: { devices: Devices; request: FixtureRequest }) => devices.open(budgetFor(request)));

/** Real load on the device and the host, released after each test. */
export const pressure = fixture(function* ({ device }: { device: Device }) {
  const simulator = new MemoryPressureSimulator(device, defaultGcHook);
  yield simulator;
  simulator.releaseAll();
});

/** The PerformanceMonitor on the test's device, sampling after a forced GC; stopped at teardown. */
export const monitor = fixture(function* ({ device, request }: { device: Device; request: FixtureRequest }) {
  const name = request.node.name.replace(/\[.*$/, '');
  let historySize = 1000;
  try {
    const size = scenario(name).load.history_size;
    if (typeof size === 'number') historySize = size;
  } catch {
    // not in the matrix: the default
  }
  const options: PerformanceMonitorOptions = { device, historySize, forceGcBeforeSample: true };
  const performance = new PerformanceMonitor(options);
  yield performance;
  performance.stop();
});

/** A MemoryManager on the test's device whose exit hook only records; stopped at teardown. */
export const memoryManager = fixture(function* ({ device }: { device: Device }) {
  const exits: number[] = [];
  const notifier = new RecoveryNotifier({ device });
  const manager = new MemoryManager({ device, notifier, exitHook: (code) => void exits.push(code) } satisfies MemoryManagerOptions);
  yield Object.assign(manager, { exits });
  void manager.stop();
});

/** The recovery manager of the original test file, as a thin driver over the library's classifier, ladder and probe. */
export const recovery = fixture(({ device, memoryManager }: { device: Device; memoryManager: MemoryManager }) => {
  const metrics = new RecoveryMetrics();
  const ladder = new RecoveryLadder({ device, memoryManager, metrics, notifier: memoryManager.notifier, exitHook: () => undefined });
  return new OOMRecoveryManager({ device, memoryManager, ladder, metrics });
});

export interface DaemonRig {
  daemon: Daemon;
  injector: CollectingInjector;
  /** Codes the daemon's exit hook was called with (it never ends the process). */
  exits: number[];
  notifications: RecoveryNotification[];
  tempDir: string;
  emergencyDir: string;
  socketPath: string | null;
}

/**
 * Builds daemons on the test's device with private directories under tmpPath, a collecting injector and an exit
 * hook that records. Every daemon is stopped at teardown; the device fixture then checks that no tensor leaked.
 */
export const daemons = fixture(async function* ({ device, tmpPath }: { device: Device; tmpPath: string }) {
  const rigs: DaemonRig[] = [];
  let n = 0;
  yield {
    create(options: DaemonOptions & { socket?: boolean } = {}): DaemonRig {
      const dir = join(tmpPath, `daemon${n++}`);
      const exits: number[] = [];
      const injector = new CollectingInjector();
      const { socket, ...rest } = options;
      const rig: DaemonRig = {
        daemon: undefined as unknown as Daemon,
        injector,
        exits,
        notifications: [],
        tempDir: join(dir, 'tmp'),
        emergencyDir: join(dir, 'emergency'),
        socketPath: socket ? join(dir, 'd.sock') : null,
      };
      rig.daemon = new Daemon({
        device,
        tempDir: rig.tempDir,
        emergencyDir: rig.emergencyDir,
        socketPath: rig.socketPath,
        injector,
        exitHook: (code) => void exits.push(code),
        stt: { preset: 'TEST' },
        startMonitors: false,
        statusReportIntervalMs: null,
        errorRecoveryDelayMs: 0,
        ...rest,
      });
      rig.daemon.notifier.subscribe((event) => rig.notifications.push(event));
      rigs.push(rig);
      return rig;
    },
  };
  for (const rig of rigs.reverse()) await rig.daemon.stop();
});

export type Daemons = { create(options?: DaemonOptions & { socket?: boolean }): DaemonRig };
