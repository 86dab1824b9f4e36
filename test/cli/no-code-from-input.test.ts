// "No code from input": expressions and config never reach eval or new Function, temporary directories come from
// mkdtemp, and what the runner writes for a test (tmpPath) is private to the user.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanupProjects, makeProject, run, REPO } from './project.js';

after(cleanupProjects);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(full));
    else if (/\.(ts|js)$/.test(entry.name)) out.push(full);
  }
  return out;
}

test('no module of the runner, the loader or the library evaluates strings as code', () => {
  const offenders: string[] = [];
  for (const file of [...sources(join(REPO, 'runner')), ...sources(join(REPO, 'bin')), ...sources(join(REPO, 'src'))]) {
    const text = readFileSync(file, 'utf8')
      .replace(/\/\/.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '');
    if (/\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(\s*['"`]/.test(text)) offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

test('an expression that would be code in JavaScript is only an identifier or a usage error', () => {
  const dir = makeProject({
    'pytest.ini': '[pytest]\n',
    'test_x.ts': `export function test_x() {}\n`,
  });
  for (const expr of ['process.exit(3)', 'constructor', '__proto__', 'globalThis']) {
    const r = run(dir, ['-k', expr, '-q']);
    assert.ok(r.code === 5 || r.code === 4, `${expr}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
  const r = run(dir, ['-m', 'x(a=1) or y', '-q']);
  assert.equal(r.code, 5);
});

test('tmpPath directories come from mkdtemp and are private (0700)', () => {
  const dir = makeProject({
    'pytest.ini': '[pytest]\n',
    'test_tmp.ts': `
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
export function test_private({ tmpPath }: any) {
  const mode = statSync(tmpPath).mode & 0o777;
  const base = statSync(dirname(tmpPath)).mode & 0o777;
  if (mode !== 0o700 || base !== 0o700) throw new Error('modes ' + mode.toString(8) + ' ' + base.toString(8));
  if (!/pytest-ts-[A-Za-z0-9]{6}$/.test(dirname(tmpPath))) throw new Error('not a mkdtemp name: ' + dirname(tmpPath));
}
`,
  });
  const r = run(dir, ['-q']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(statSync(dir).isDirectory());
});
