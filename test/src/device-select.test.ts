import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  describeActiveDevice,
  DeviceUnavailableError,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmiCsv,
  queryNvidiaSmi,
  selectDevice,
  type Device,
  type TensorModule,
} from '../../src/device/index.js';

const MIB = 1024 * 1024;
let dir: string;
let usedFile: string;
const devices: Device[] = [];

/** A fake nvidia-smi that checks its arguments and prints the "used" figure from a file, so tests can change it. */
function writeFakeSmi(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-smi-'));
  usedFile = join(dir, 'used');
  writeFileSync(usedFile, '3537');
  const expectedArgs = NVIDIA_SMI_ARGS.join(' ');
  writeFakeSmi(
    'nvidia-smi',
    `[ "$*" = "${expectedArgs}" ] || { echo "unexpected arguments: $*" >&2; exit 9; }\necho "0, 4096, $(cat ${usedFile}), 559"\necho "1, 8192, 100, 8092"`,
  );
  writeFakeSmi('smi-fails', 'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." >&2; exit 9');
  writeFakeSmi('smi-hangs', 'sleep 5');
  writeFakeSmi('smi-garbage', 'echo "No devices were found"');
  writeFakeSmi('smi-empty', 'true');
});
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

const throwingLoader = (error: unknown) => async (): Promise<TensorModule> => {
  throw error;
};
const realTfLoader = async (): Promise<TensorModule> => tf;

async function select(options: Parameters<typeof selectDevice>[0]): Promise<Device> {
  const d = await selectDevice(options);
  devices.push(d);
  return d;
}

describe('parseNvidiaSmiCsv', () => {
  it('reads index, total, used and free in MiB', () => {
    assert.deepEqual(parseNvidiaSmiCsv('0, 4096, 3537, 559\n1, 81559, 0, 81559\n'), [
      { index: 0, totalBytes: 4096 * MIB, usedBytes: 3537 * MIB, freeBytes: 559 * MIB },
      { index: 1, totalBytes: 81559 * MIB, usedBytes: 0, freeBytes: 81559 * MIB },
    ]);
  });

  it('accepts CRLF line ends and blank lines', () => {
    assert.equal(parseNvidiaSmiCsv('\r\n0, 10, 5, 5\r\n\r\n').length, 1);
  });

  const malformed: [string, string][] = [
    ['too few fields', '0, 4096, 3537'],
    ['a non-numeric field', '0, 4096, [N/A], 559'],
    ['a message instead of figures', 'No devices were found'],
    ['a negative number', '0, -1, 0, 0'],
  ];
  for (const [name, text] of malformed) {
    it(`rejects ${name} and names the line`, () => {
      assert.throws(() => parseNvidiaSmiCsv(`0, 1, 1, 0\n${text}`), /nvidia-smi output line 2 is not "index, memory\.total, memory\.used, memory\.free" in MiB/);
    });
  }
});

describe('queryNvidiaSmi', () => {
  it('runs nvidia-smi from PATH with the exact query and parses it', async () => {
    const readings = await queryNvidiaSmi({ env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    assert.equal(readings.length, 2);
    assert.equal(readings[0]!.usedBytes, 3537 * MIB);
  });

  it('reports a failing nvidia-smi by its stderr', async () => {
    await assert.rejects(queryNvidiaSmi({ command: join(dir, 'smi-fails') }), /^Error: nvidia-smi failed: NVIDIA-SMI has failed because it could not communicate/);
  });

  it('gives up on a hung nvidia-smi after the timeout', async () => {
    await assert.rejects(queryNvidiaSmi({ command: join(dir, 'smi-hangs'), timeoutMs: 200 }), /nvidia-smi failed: timed out after 200 ms/);
  });

  it('reports a missing nvidia-smi', async () => {
    await assert.rejects(queryNvidiaSmi({ command: join(dir, 'does-not-exist') }), /nvidia-smi failed: .*ENOENT/);
  });

  it('reports unparseable output', async () => {
    await assert.rejects(queryNvidiaSmi({ command: join(dir, 'smi-garbage') }), /output line 1/);
  });
});

describe('selectDevice', () => {
  const smi = () => ({ command: join(dir, 'nvidia-smi') });

  it('falls back to the CPU when tfjs-node-gpu is not installed, and says why', async () => {
    const d = await select({ budgetMB: 64 });
    assert.equal(d.kind, 'cpu');
    assert.equal(d.totalBytes(), 64e6);
    const description = describeActiveDevice();
    assert.equal(description?.kind, 'cpu');
    assert.match(description!.reason, /^@tensorflow\/tfjs-node-gpu not available: /);
  });

  it('falls back on any load error, including a plain Error with no code (a broken native addon)', async () => {
    const error = new Error('The Node.js native addon module (tfjs_binding.node) can not be found\nsecond line');
    const d = await select({ loadGpuModule: throwingLoader(error), nvidiaSmi: smi() });
    assert.equal(d.kind, 'cpu');
    assert.equal(describeActiveDevice()!.reason, '@tensorflow/tfjs-node-gpu not available: The Node.js native addon module (tfjs_binding.node) can not be found');
  });

  it('falls back when the loader throws a non-Error value', async () => {
    const d = await select({ loadGpuModule: throwingLoader('just a string'), nvidiaSmi: smi() });
    assert.equal(d.kind, 'cpu');
    assert.match(describeActiveDevice()!.reason, /not available: just a string/);
  });

  it('falls back when the module loads but nvidia-smi finds no GPU', async () => {
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: { command: join(dir, 'smi-fails') } });
    assert.equal(d.kind, 'cpu');
    assert.match(describeActiveDevice()!.reason, /^no CUDA device: nvidia-smi failed: NVIDIA-SMI has failed/);
  });

  it('falls back when nvidia-smi does not list the requested GPU', async () => {
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: { command: join(dir, 'smi-empty') }, gpuIndex: 0 });
    assert.equal(d.kind, 'cpu');
    assert.match(describeActiveDevice()!.reason, /no CUDA device 0: nvidia-smi lists 0 GPU\(s\)/);
  });

  it('uses the GPU when the module loads and nvidia-smi sees one, with driver-level usage', async () => {
    writeFileSync(usedFile, '3537');
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi() });
    assert.equal(d.kind, 'cuda');
    assert.equal(d.totalBytes(), 4096 * MIB);
    assert.equal(d.deviceUsedBytes?.(), 3537 * MIB);
    writeFileSync(usedFile, '3568');
    await d.refreshDriverStats!();
    assert.equal(d.deviceUsedBytes?.(), 3568 * MIB);
    const description = describeActiveDevice()!;
    assert.equal(description.kind, 'cuda');
    assert.equal(description.name, 'CUDA GPU 0 (@tensorflow/tfjs-node-gpu)');
    assert.match(description.reason, /loaded and nvidia-smi reports GPU 0 with 4096 MiB/);
    const handle = d.allocate(1e6);
    assert.equal(handle.tensors.length, 1, 'tensors come from the loaded module');
  });

  it('reuses a driver reading younger than driverStatsMaxAgeMs', async () => {
    writeFileSync(usedFile, '1000');
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi(), driverStatsMaxAgeMs: 60_000 });
    writeFileSync(usedFile, '2000');
    await d.refreshDriverStats!();
    assert.equal(d.deviceUsedBytes?.(), 1000 * MIB, 'the reading from selection is still fresh');
  });

  it('picks another GPU by index, and caps the budget at the card', async () => {
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi(), gpuIndex: 1, budgetMB: 1000 });
    assert.equal(d.totalBytes(), 1000e6);
    const whole = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi(), budgetMB: 1e9 });
    assert.equal(whole.totalBytes(), 4096 * MIB);
  });

  it('keeps the last driver reading when a refresh fails', async () => {
    const d = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi() });
    const before = d.deviceUsedBytes?.();
    const gone = await select({ loadGpuModule: realTfLoader, nvidiaSmi: smi(), gpuIndex: 1 });
    assert.ok(before !== undefined);
    writeFileSync(join(dir, 'nvidia-smi'), '#!/bin/sh\nexit 3\n');
    try {
      await assert.rejects(gone.refreshDriverStats!(), /nvidia-smi failed/);
      assert.equal(gone.deviceUsedBytes?.(), 100 * MIB);
    } finally {
      // restore the well-behaved script for later tests
      const expectedArgs = NVIDIA_SMI_ARGS.join(' ');
      writeFakeSmi('nvidia-smi', `[ "$*" = "${expectedArgs}" ] || exit 9\necho "0, 4096, $(cat ${usedFile}), 559"\necho "1, 8192, 100, 8092"`);
    }
  });

  it("throws a clear error for prefer: 'cuda' without a GPU", async () => {
    await assert.rejects(
      selectDevice({ prefer: 'cuda', loadGpuModule: throwingLoader(new Error('Cannot find package')) }),
      (error: unknown) =>
        error instanceof DeviceUnavailableError &&
        error.message === 'a CUDA device was requested, but none is usable: @tensorflow/tfjs-node-gpu not available: Cannot find package',
    );
  });

  it("uses the CPU for prefer: 'cpu' without trying the GPU", async () => {
    let tried = false;
    const d = await select({ prefer: 'cpu', loadGpuModule: async () => ((tried = true), tf) });
    assert.equal(d.kind, 'cpu');
    assert.equal(tried, false);
    assert.equal(describeActiveDevice()!.reason, 'CPU requested');
  });

  it('rejects an unknown preference', async () => {
    await assert.rejects(selectDevice({ prefer: 'tpu' as never }), /unknown device preference 'tpu'/);
  });

  it('rejects a loaded module without a tensor API', async () => {
    const d = await select({ loadGpuModule: async () => ({}) as TensorModule, nvidiaSmi: smi() });
    assert.equal(d.kind, 'cpu');
    assert.match(describeActiveDevice()!.reason, /not available: the module has no tensor API/);
  });
});
