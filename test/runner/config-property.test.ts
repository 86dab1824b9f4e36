// Properties of the two parsers that read untrusted text: the ini parser and the argv parser never fail with
// anything but their own error (which the CLI turns into one line and exit 4), and stay fast on any input.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { IniError, parseIni } from '../../runner/ini.js';
import { parseArgs, parseArgsLenient } from '../../runner/args.js';
import { loadConfig } from '../../runner/config.js';
import { UsageError } from '../../runner/exit-codes.js';

const RUNS = 10_000;
const SLOW_MS = 100;
// An empty directory, so that `@file` arguments the generator makes up find nothing to read.
const emptyDir = mkdtempSync(join(tmpdir(), 'config-property-'));
after(() => rmSync(emptyDir, { recursive: true, force: true }));

/** Runs `body` and fails the property when one input takes longer than SLOW_MS. */
function timed<T>(body: () => T): T {
  const start = performance.now();
  const result = body();
  const elapsed = performance.now() - start;
  assert.ok(elapsed < SLOW_MS, `one input took ${elapsed.toFixed(1)} ms`);
  return result;
}

// Lines built from the pieces the grammar cares about, so the generator reaches every branch.
const iniPiece = fc.constantFrom('[', ']', '=', ':', '#', ';', ' ', '\t', '\u00a0', '\n', '\r', '\r\n', '\v', '\ufeff', 'pytest', 'a', 'addopts', '"', "'", '\\');
const iniLikeText = fc.array(iniPiece, { maxLength: 60 }).map((pieces) => pieces.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 200 });

describe('parseIni on arbitrary text', () => {
  it(`returns an IniFile or throws IniError, never anything else (${RUNS} inputs, seeded)`, () => {
    fc.assert(
      fc.property(fc.oneof(iniLikeText, anyText), (text) => {
        try {
          const file = timed(() => parseIni(text, 'x.ini'));
          for (const values of file.sections.values()) {
            for (const { value, line } of values.values()) {
              assert.equal(typeof value, 'string');
              assert.ok(Number.isInteger(line) && line >= 1);
            }
          }
        } catch (error) {
          if (!(error instanceof IniError)) throw error;
          assert.match(error.message, /^x\.ini:\d+: \S/);
        }
      }),
      { seed: 20240531, numRuns: RUNS },
    );
  });

  it('reads back any well-formed document it is given (1000 inputs)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    const value = fc.stringMatching(/^[^\s#;\[][^\n\r]{0,20}$/).map((v) => v.trim()).filter((v) => v !== '' && !/[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x1c-\x1f\v\f]/u.test(v));
    const section = fc.tuple(name, fc.uniqueArray(fc.tuple(name, fc.array(value, { minLength: 1, maxLength: 3 })), { selector: ([key]) => key, maxLength: 4 }));
    fc.assert(
      fc.property(fc.uniqueArray(section, { selector: ([header]) => header, maxLength: 3 }), (sections) => {
        const text = sections.map(([header, keys]) =>
          `[${header}]\n` + keys.map(([key, lines]) => `${key} = ${lines[0]}\n` + lines.slice(1).map((l) => `    ${l}\n`).join('')).join(''),
        ).join('\n');
        const parsed = parseIni(text, 'x.ini');
        assert.deepEqual(
          [...parsed.sections].map(([header, values]) => [header, [...values].map(([key, v]) => [key, v.value])]),
          sections.map(([header, keys]) => [header, keys.map(([key, lines]) => [key, lines.join('\n')])]),
        );
      }),
      { seed: 7, numRuns: 1000 },
    );
  });
});

const argPiece = fc.oneof(
  fc.constantFrom('-k', '-m', '-v', '-q', '-x', '-s', '-r', '-p', '-o', '-c', '-W', '-V', '-h', '--', '-', '', '-1', '-.5', '-1e3',
    '--tb=short', '--tb', '--maxfail=3', '--maxfail', '--co', '--junitxml=out.xml', '--bogus', '--lf=', '-x=1', '-vkfoo',
    '-vZ', 'a=b', 'no:cacheprovider', 'suites/', 'a.ts::T::t', '-k=-gpu', '-gpu or cuda', '@missing', '--durations-min=1e-3',
    '--color=maybe', '--isolation=worker', '--timeout=nan', '--verbosity=2'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 6 }).map((s) => `-${s}`),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => `--${s}`),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => `--junitxml=${s}`),
);

describe('parseArgs on arbitrary argv', () => {
  it(`returns Options or throws UsageError, never anything else (${RUNS} inputs, seeded)`, () => {
    fc.assert(
      fc.property(fc.array(argPiece, { maxLength: 12 }), fc.boolean(), (argv, lenient) => {
        try {
          const options = timed(() => (lenient ? parseArgsLenient(argv, [], { cwd: emptyDir }).options : parseArgs(argv, [], { cwd: emptyDir })));
          assert.ok(Array.isArray(options.paths));
          assert.ok(Number.isInteger(options.verbose));
          assert.ok(Number.isInteger(options.maxfail));
          // without argument files, every path is one of the arguments, in order
          if (!argv.some((arg) => arg.startsWith('@'))) {
            let cursor = 0;
            for (const path of options.paths) {
              cursor = argv.indexOf(path, cursor) + 1;
              assert.ok(cursor > 0, `path ${JSON.stringify(path)} is not an argument`);
            }
          }
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
          assert.ok(!error.message.includes('\n'), `a usage error must be one line: ${JSON.stringify(error.message)}`);
        }
      }),
      { seed: 424242, numRuns: RUNS },
    );
  });
});

describe('loadConfig on arbitrary argv in a project without config', () => {
  it('returns a Config or throws UsageError (1000 inputs, seeded)', () => {
    fc.assert(
      fc.property(fc.array(argPiece, { maxLength: 8 }), fc.option(fc.array(argPiece, { maxLength: 4 }).map((a) => a.join(' '))), (argv, addopts) => {
        try {
          const config = timed(() => loadConfig(argv, emptyDir, [], { env: { PYTEST_ADDOPTS: addopts ?? undefined } }));
          assert.equal(typeof config.rootdir, 'string');
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
          assert.ok(!error.message.includes('\n'), `a usage error must be one line: ${JSON.stringify(error.message)}`);
        }
      }),
      { seed: 99, numRuns: 1000 },
    );
  });
});
