// Terminal-summary lines that come from pytest's plugins rather than from the test outcomes: --durations (with its
// "Use -vv" hint only when --durations-min was not given) and junitxml's "generated xml file" line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cleanupProjects, makeProject, run } from './project.js';

after(cleanupProjects);

describe('plugin lines in the terminal summary', () => {
  const dir = makeProject({
    'pytest.ini': '[pytest]\n',
    'test_times.ts': `
export function test_one() {}
export function test_two() {}
export async function test_three() {}
`,
  });

  test('--durations without --durations-min hints at -vv, as pytest does', () => {
    const r = run(dir, ['--durations=0', '-p', 'no:cacheprovider']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /=+ slowest durations =+\n/);
    assert.match(r.stdout, /\n\(\d durations < 0\.005s hidden\.  Use -vv to show these durations\.\)\n/);
  });

  test('with --durations-min the hint is left out, and the threshold is the one given', () => {
    const r = run(dir, ['--durations=0', '--durations-min=60', '-p', 'no:cacheprovider']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /=+ slowest durations =+\n\n\(9 durations < 60s hidden\.\)\n/);
  });

  test('--junitxml names the file it wrote, as an absolute path, unless -q', () => {
    const r = run(dir, ['--junitxml=reports/../out.xml', '-p', 'no:cacheprovider']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const line = r.stdout.split('\n').find((l) => l.includes('generated xml file'));
    assert.equal(line?.replace(/^-+ | -+$/g, ''), `generated xml file: ${join(dir, 'out.xml')}`);
    const quiet = run(dir, ['--junitxml=out.xml', '-q', '-p', 'no:cacheprovider']);
    assert.doesNotMatch(quiet.stdout, /generated xml file/);
  });
});
