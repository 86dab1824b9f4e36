// The "imports" section of the original validator, for Node: the runtime, pytest-ts, @tensorflow/tfjs and its
// backend, whether @tensorflow/tfjs-node-gpu loads, the memory-protection library, and the device the suite would
// run on with the reason it was chosen. Every load is dynamic, so that a broken library is reported as a
// difference instead of stopping the validator before it prints anything.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The library's entry points, each of which must load (the original checked only performance_monitor). */
export const LIBRARY_MODULES = [
  'src/device/index.ts',
  'src/memory-manager.ts',
  'src/performance-monitor.ts',
  'src/recovery/index.ts',
  'src/audio-buffer.ts',
  'src/preservation.ts',
  'src/daemon.ts',
];

export interface EnvironmentLine {
  ok: boolean;
  /** false: informational (an optional package missing) rather than a difference. */
  required: boolean;
  text: string;
}

export interface EnvironmentReport {
  lines: EnvironmentLine[];
  differences: string[];
  /** `cpu` or `cuda`, when a device could be selected. */
  deviceKind?: string;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

interface DeviceModule {
  GPU_PACKAGE: string;
  DEFAULT_BUDGET_MB: number;
  selectDevice(options: { prefer?: string; budgetMB?: number }): Promise<{ close(): void }>;
  describeActiveDevice(): { kind: string; name: string; totalBytes: number; reason: string } | null;
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown version';
  }
}

/** Loads everything the suite needs and selects the device as the suite's conftest would (PYTEST_TS_DEVICE honoured). */
export async function inspectEnvironment(root: string, env: NodeJS.ProcessEnv = process.env): Promise<EnvironmentReport> {
  const lines: EnvironmentLine[] = [];
  const differences: string[] = [];
  const required = (ok: boolean, text: string, difference?: string) => {
    lines.push({ ok, required: true, text });
    if (!ok && difference) differences.push(difference);
  };

  required(true, `Node ${process.version}`);
  try {
    const { VERSION } = (await import(pathToFileURL(join(root, 'runner', 'version.ts')).href)) as { VERSION: string };
    required(true, `pytest-ts ${VERSION}`);
  } catch (error) {
    required(false, `pytest-ts: ${firstLine(error)}`, `pytest-ts (runner/version.ts) does not load: ${firstLine(error)}`);
  }

  try {
    const tf = (await import('@tensorflow/tfjs')) as typeof import('@tensorflow/tfjs');
    tf.env().set('PROD', true); // the CPU backend's "install the node backend" advice is noise here
    await tf.ready();
    required(true, `@tensorflow/tfjs ${tf.version.tfjs} (backend: ${tf.getBackend()})`);
  } catch (error) {
    required(false, `@tensorflow/tfjs: ${firstLine(error)}`, `@tensorflow/tfjs does not load: ${firstLine(error)}`);
  }

  let device: DeviceModule | undefined;
  const broken: string[] = [];
  for (const module of LIBRARY_MODULES) {
    try {
      const loaded = await import(pathToFileURL(join(root, module)).href);
      if (module === 'src/device/index.ts') device = loaded as DeviceModule;
    } catch (error) {
      broken.push(module);
      differences.push(`the library does not load: ${module}: ${firstLine(error)}`);
    }
  }
  required(broken.length === 0, broken.length === 0 ? `memory-protection library (${LIBRARY_MODULES.length} modules)` : `memory-protection library: ${broken.join(', ')} fail to load`);

  const gpuPackage = device?.GPU_PACKAGE ?? '@tensorflow/tfjs-node-gpu';
  try {
    await import(gpuPackage);
    lines.push({ ok: true, required: false, text: `${gpuPackage} ${packageVersion(root, gpuPackage)} loads` });
  } catch (error) {
    lines.push({ ok: false, required: false, text: `${gpuPackage} not available (optional; gpu tests run on the embedded device): ${firstLine(error)}` });
  }

  if (!device) return { lines, differences };
  const prefer = env.PYTEST_TS_DEVICE || 'auto'; // unset or empty: the default
  try {
    const selected = await device.selectDevice({ prefer, budgetMB: device.DEFAULT_BUDGET_MB });
    const description = device.describeActiveDevice()!;
    selected.close();
    required(true, `active device: ${description.kind} ${description.name} -- ${description.reason}`);
    return { lines, differences, deviceKind: description.kind };
  } catch (error) {
    required(false, `active device (preference ${prefer}): ${firstLine(error)}`, `no device for preference '${prefer}': ${firstLine(error)}`);
    return { lines, differences };
  }
}
