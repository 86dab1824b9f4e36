// config.ts: loadConfig on throwaway projects. Discovery layouts that pytest itself understands are also run
// through real pytest (one Python process) when it is installed, and must give the same rootdir and config file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../runner/exit-codes.js';
import { initialPaths, loadConfig, readIni, unknownKeyWarnings, type Config, type LoadConfigContext } from '../../runner/config.js';

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'config-test-')));
after(() => rmSync(scratch, { recursive: true, force: true }));
let projects = 0;

/** A throwaway project: { 'path/in/project': 'content' } (a trailing '/' makes a directory). */
function project(files: Record<string, string | Buffer>): string {
  const root = join(scratch, `p${projects++}`);
  mkdirSync(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    if (path.endsWith('/')) { mkdirSync(full, { recursive: true }); continue; }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

const NO_ENV: LoadConfigContext = { env: {} };
const load = (cwd: string, argv: string[] = [], context: LoadConfigContext = NO_ENV): Config => loadConfig(argv, cwd, [], context);

function loadError(cwd: string, argv: string[] = [], context: LoadConfigContext = NO_ENV): string {
  try {
    load(cwd, argv, context);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a UsageError');
}

/** The port's memory.ini: the original pytest_memory.ini's keys, the timeout without its inline comment. */
const MEMORY_INI = `[pytest]
# Discovery limited to the two suites
python_files = test_memory*.ts test_oom*.ts
python_classes = Test*
python_functions = test_*

markers =
    slow: marks tests as slow (1+ hour runtime)
    gpu: marks tests requiring GPU
    stress: marks stress tests
    oom: marks OOM recovery tests
    recovery: marks recovery mechanism tests

addopts = -v --tb=short --strict-markers --disable-warnings -p no:cacheprovider
timeout = 7200
timeout_method = thread
log_cli = true
log_cli_level = INFO
log_cli_format = %(asctime)s [%(levelname)s] %(message)s
log_cli_date_format = %H:%M:%S
filterwarnings =
    ignore::DeprecationWarning
    ignore::PendingDeprecationWarning
`;
const PACKAGE_JSON = JSON.stringify({ name: 'x', private: true, 'pytest-ts': { configFile: 'memory.ini' } });

describe('the OOM suite layout: package.json names memory.ini', () => {
  const root = project({ 'memory.ini': MEMORY_INI, 'package.json': PACKAGE_JSON, 'suites/test_oom_recovery.ts': '' });

  it('`pytest-ts suites/ -v -m "not slow"` finds memory.ini without -c', () => {
    const config = load(root, ['suites/', '-v', '-m', 'not slow']);
    assert.equal(config.rootdir, root);
    assert.equal(config.inipath, join(root, 'memory.ini'));
    assert.equal(config.inifileRelative, 'memory.ini');
    assert.deepEqual(config.ini.pythonFiles, ['test_memory*.ts', 'test_oom*.ts']);
    assert.deepEqual(config.ini.markers.map((m) => [m.name, m.description]), [
      ['slow', 'marks tests as slow (1+ hour runtime)'], ['gpu', 'marks tests requiring GPU'], ['stress', 'marks stress tests'],
      ['oom', 'marks OOM recovery tests'], ['recovery', 'marks recovery mechanism tests'],
    ]);
    assert.equal(config.ini.timeout, 7200);
    assert.equal(config.ini.timeoutMethod, 'thread');
    assert.deepEqual(config.ini.filterwarnings, ['ignore::DeprecationWarning', 'ignore::PendingDeprecationWarning']);
    assert.equal(config.iniLines.timeout, 15);
    assert.equal(config.iniLines.markers, 7);
    assert.deepEqual(config.unknownKeys, []);
    // addopts are prepended: -v twice (addopts + argv) is verbosity 2
    assert.deepEqual(config.fullArgv.slice(0, 6), ['-v', '--tb=short', '--strict-markers', '--disable-warnings', '-p', 'no:cacheprovider']);
    assert.equal(config.args.verbose, 2);
    assert.equal(config.args.tb, 'short');
    assert.equal(config.args.markexpr, 'not slow');
    assert.deepEqual(config.args.paths, ['suites/']);
    assert.deepEqual(config.args.plugins, ['no:cacheprovider']);
    assert.equal(config.ini.strictMarkers, true, '--strict-markers in addopts must take effect (pytest #14442)');
    assert.deepEqual(config.settings, {
      timeout: 7200, isolation: 'none', logCli: true, logCliLevel: 20, logLevel: undefined,
      logFormat: '%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s', logDateFormat: '%H:%M:%S',
      logCliFormat: '%(asctime)s [%(levelname)s] %(message)s', logCliDateFormat: '%H:%M:%S',
    });
  });

  it('is found from a subdirectory too, with the rootdir at the package.json', () => {
    const config = load(join(root, 'suites'));
    assert.equal(config.rootdir, root);
    assert.equal(config.inifileRelative, 'memory.ini');
  });

  it('the original inline comment on timeout is one clear line, pointing at the file and line', () => {
    const broken = project({ 'memory.ini': MEMORY_INI.replace('timeout = 7200\n', 'timeout = 7200  # 2 hours max per test\n'), 'package.json': PACKAGE_JSON });
    assert.equal(loadError(broken), "memory.ini:15: timeout: '7200  # 2 hours max per test' is not a number of seconds");
  });

  it('uncommenting the second addopts is a duplicate-key error', () => {
    const broken = project({ 'memory.ini': MEMORY_INI + 'addopts = --cov=src\n', 'package.json': PACKAGE_JSON });
    assert.equal(loadError(broken), "memory.ini:24: duplicate name 'addopts'");
  });

  it('paths in messages are absolute when the file is not below the cwd', () => {
    const broken = project({ 'cfg/memory.ini': '[pytest]\ntimeout = soon\n', 'work/': '' });
    assert.equal(loadError(join(broken, 'work'), ['-c', '../cfg/memory.ini']), `${join(broken, 'cfg/memory.ini')}:2: timeout: 'soon' is not a number of seconds`);
  });
});

describe('which file is the config file', () => {
  const cases: Array<[string, Record<string, string>, string, string | undefined, string[]?]> = [
    ['pytest.ini beats package.json in the same directory', { 'pytest.ini': '[pytest]\n', 'package.json': PACKAGE_JSON, 'memory.ini': '[pytest]\n' }, '.', 'pytest.ini', ['package.json']],
    ['package.json beats pyproject.toml, tox.ini and setup.cfg', {
      'package.json': PACKAGE_JSON, 'memory.ini': '[pytest]\n', 'pyproject.toml': '[tool.pytest.ini_options]\na = "1"\n',
      'tox.ini': '[pytest]\n', 'setup.cfg': '[tool:pytest]\n',
    }, '.', 'memory.ini', ['pyproject.toml', 'tox.ini', 'setup.cfg']],
    ['.pytest.ini counts', { '.pytest.ini': '[other]\n' }, '.', '.pytest.ini'],
    ['pytest.toml beats pytest.ini', { 'pytest.toml': '[pytest]\n', 'pytest.ini': '[pytest]\n' }, '.', 'pytest.toml', ['pytest.ini']],
    ['tox.ini without [pytest] is skipped', { 'tox.ini': '[tox]\nenvlist = py3\n', 'setup.cfg': '[tool:pytest]\nmarkers = a\n' }, '.', 'setup.cfg'],
    ['a package.json without "pytest-ts" is not a config', { 'package.json': '{"name": "x"}', 'tox.ini': '[pytest]\n' }, '.', 'tox.ini'],
    ['a nearer directory wins over a farther one', { 'pytest.ini': '[pytest]\n', 'sub/tox.ini': '[pytest]\n' }, 'sub', 'sub/tox.ini'],
    ['pyproject.toml without pytest tables does not stop the walk', { 'pytest.ini': '[pytest]\n', 'sub/pyproject.toml': '[project]\nname = "x"\n' }, 'sub', 'pytest.ini'],
    ['a pyproject.toml seen on the walk is the fallback config', { 'sub/pyproject.toml': '[project]\nname = "x"\n' }, 'sub', 'sub/pyproject.toml'],
    ['no config at all', { 'sub/': '' }, 'sub', undefined],
  ];
  for (const [name, files, cwd, expected, ignored = []] of cases) {
    it(name, () => {
      const root = project(files);
      const config = load(join(root, cwd));
      assert.equal(config.inipath, expected === undefined ? undefined : join(root, expected));
      assert.deepEqual(config.ignoredConfigFiles, ignored);
      if (expected !== undefined) assert.equal(config.rootdir, dirname(join(root, expected)));
    });
  }

  it('the package.json may name a file in a subdirectory; the rootdir stays at the package.json', () => {
    const root = project({ 'package.json': JSON.stringify({ 'pytest-ts': { configFile: 'config/memory.ini' } }), 'config/memory.ini': '[pytest]\nmarkers = gpu\n' });
    const config = load(root);
    assert.equal(config.rootdir, root);
    assert.equal(config.inifileRelative, 'config/memory.ini');
    assert.deepEqual(config.ini.markers.map((m) => m.name), ['gpu']);
  });

  it('the package.json entry may name a TOML file', () => {
    const root = project({ 'package.json': JSON.stringify({ 'pytest-ts': { configFile: 'memory.toml' } }), 'memory.toml': '[pytest]\nmarkers = ["gpu: x"]\nlog_cli = true\n' });
    const config = load(root);
    assert.deepEqual(config.ini.markers.map((m) => m.name), ['gpu']);
    assert.equal(config.ini.logCli, true);
  });

  const errors: Array<[string, Record<string, string>, string]> = [
    ['package.json naming a missing file', { 'package.json': PACKAGE_JSON }, `package.json: "pytest-ts".configFile names 'memory.ini', which is not a file`],
    ['package.json with a malformed entry', { 'package.json': '{"pytest-ts": "memory.ini"}' }, 'package.json: "pytest-ts" must be an object like {"configFile": "memory.ini"}'],
    ['package.json that is not JSON but mentions us', { 'package.json': '{"pytest-ts": {' }, 'package.json: not valid JSON'],
    ['setup.cfg with [pytest]', { 'setup.cfg': '[pytest]\n' }, '[pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead.'],
    ['pyproject.toml with both tables', { 'pyproject.toml': '[tool.pytest]\naddopts = ["-v"]\n[tool.pytest.ini_options]\naddopts = "-v"\n' },
      'pyproject.toml: Cannot use both [tool.pytest] (native TOML types) and [tool.pytest.ini_options] (string-based INI format) simultaneously. Please use [tool.pytest] with native TOML types (recommended) or [tool.pytest.ini_options] for backwards compatibility.'],
    ['pyproject.toml that is not TOML', { 'pyproject.toml': '[tool.pytest.ini_options]\na = \n' }, 'pyproject.toml: Invalid TOML document: invalid value (at line 2, column 5)'],
    ['an ini file that is not UTF-8', { 'pytest.ini': '[pytest]\nmarkers = \xff\n' }, 'pytest.ini: not valid UTF-8'],
    ['an ini file with a BOM (pytest rejects it too)', { 'pytest.ini': '\xef\xbb\xbf[pytest]\n' }, "pytest.ini:1: unexpected line: '\\ufeff[pytest]'"],
  ];
  for (const [name, files, message] of errors) {
    it(`error: ${name}`, () => {
      const root = project(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, k === 'pytest.ini' ? Buffer.from(v, 'latin1') : v])));
      assert.ok(loadError(root).startsWith(message), loadError(root));
    });
  }
  it('a broken package.json that does not mention pytest-ts is ignored', () => {
    assert.equal(load(project({ 'package.json': '{oops', 'tox.ini': '[pytest]\n' })).inifileRelative, 'tox.ini');
  });
});

describe('rootdir, -c and --rootdir', () => {
  it('-c FILE: the rootdir is the file\'s directory', () => {
    const root = project({ 'cfg/memory.ini': '[pytest]\nmarkers = gpu\n', 'work/': '' });
    const config = load(join(root, 'work'), ['-c', '../cfg/memory.ini']);
    assert.equal(config.rootdir, join(root, 'cfg'));
    assert.equal(config.inifileRelative, 'memory.ini');
    assert.deepEqual(config.ini.markers.map((m) => m.name), ['gpu']);
  });

  it('-c with a missing file is a one-line usage error (pytest crashes with a traceback)', () => {
    const root = project({});
    assert.equal(loadError(root, ['-c', 'nope.ini']), 'config file not found: nope.ini (given by -c/--config-file)');
    assert.equal(loadError(root, ['--config-file=.']), 'config file is not a file: . (given by -c/--config-file)');
  });

  it('-c with a file that holds no [pytest] section still sets the config file, with no values', () => {
    const root = project({ 'other.ini': '[tool]\na = 1\n' });
    const config = load(root, ['-c', 'other.ini']);
    assert.equal(config.inipath, join(root, 'other.ini'));
    assert.deepEqual(config.unknownKeys, []);
  });

  it('--rootdir overrides, with $VARS expanded; a missing directory is pytest\'s message', () => {
    const root = project({ 'pytest.ini': '[pytest]\n', 'elsewhere/': '' });
    assert.equal(load(root, ['--rootdir=elsewhere']).rootdir, join(root, 'elsewhere'));
    assert.equal(load(root, ['--rootdir', '$BASE/elsewhere'], { env: { BASE: root } }).rootdir, join(root, 'elsewhere'));
    assert.equal(load(root, ['--rootdir=elsewhere']).inifileRelative, '../pytest.ini');
    assert.equal(loadError(root, ['--rootdir=nope']), `Directory '${join(root, 'nope')}' not found. Check your '--rootdir' option.`);
  });

  it('no config: the common ancestor of the cwd and the path arguments', () => {
    const root = project({ 'a/b/test_x.ts': '', 'a/c/': '' });
    assert.equal(load(join(root, 'a/b'), ['test_x.ts::TestA']).rootdir, join(root, 'a/b'));
    assert.equal(load(join(root, 'a/c'), ['../b/test_x.ts']).rootdir, join(root, 'a'));
    assert.equal(load(join(root, 'a/c'), ['does/not/exist']).rootdir, join(root, 'a/c'));
  });

  it('no config: an ancestor holding setup.py is the rootdir', () => {
    const root = project({ 'setup.py': '', 'a/b/': '' });
    assert.equal(load(join(root, 'a/b')).rootdir, root);
  });

  it('the path arguments decide where the walk starts', () => {
    const root = project({ 'one/pytest.ini': '[pytest]\n', 'two/tox.ini': '[pytest]\n' });
    assert.equal(load(root, ['one']).inipath, join(root, 'one/pytest.ini'));
    assert.equal(load(root, ['two/']).inipath, join(root, 'two/tox.ini'));
    // two paths: the walk starts at their common ancestor, finds nothing, then tries each directory in turn
    assert.equal(load(root, ['two', 'one']).inipath, join(root, 'two/tox.ini'));
  });
});

describe('-o, addopts and PYTEST_ADDOPTS', () => {
  const root = project({ 'pytest.ini': '[pytest]\naddopts = -v -m slow -o junit_family=xunit1\ntimeout = 60\njunit_suite_name = file\n' });

  it('-o overrides the file; the last -o for a key wins', () => {
    const config = load(root, ['-o', 'timeout=30', '-o', 'junit_suite_name=a', '-o', 'junit_suite_name=b']);
    assert.equal(config.ini.timeout, 30);
    assert.equal(config.ini.junitSuiteName, 'b');
  });

  it('-o in addopts applies (pytest #14443), and the command line beats it', () => {
    assert.equal(load(root).ini.junitFamily, 'xunit1');
    assert.equal(load(root, ['-o', 'junit_family=legacy']).ini.junitFamily, 'legacy');
  });

  it('addopts come first, so the command line wins for single-valued options', () => {
    const config = load(root, ['-m', 'gpu']);
    assert.equal(config.args.markexpr, 'gpu');
    assert.equal(config.args.verbose, 1);
    assert.deepEqual(config.fullArgv, ['-v', '-m', 'slow', '-o', 'junit_family=xunit1', '-m', 'gpu']);
  });

  it('PYTEST_ADDOPTS goes between addopts and argv, and its -o counts', () => {
    const config = load(root, ['-v'], { env: { PYTEST_ADDOPTS: '-q -q -o timeout=5 -m "not gpu"' } });
    assert.deepEqual(config.fullArgv, ['-v', '-m', 'slow', '-o', 'junit_family=xunit1', '-q', '-q', '-o', 'timeout=5', '-m', 'not gpu', '-v']);
    assert.equal(config.args.verbose, 0);
    assert.equal(config.args.markexpr, 'not gpu');
    assert.equal(config.ini.timeout, 5);
  });

  it('-o addopts=... replaces the file\'s addopts', () => {
    assert.deepEqual(load(root, ['-o', 'addopts=-x']).fullArgv, ['-x', '-o', 'addopts=-x']);
  });

  const errors: Array<[string, string[], Record<string, string>, string]> = [
    ['bad -o syntax', ['-o', 'timeout'], {}, "-o/--override-ini expects option=value style (got: 'timeout')."],
    ['a bad -o value names -o', ['-o', 'timeout=abc'], {}, "-o/--override-ini: timeout: 'abc' is not a number of seconds"],
    ['negative timeout', ['-o', 'timeout=-1'], {}, "-o/--override-ini: timeout: '-1' is not a number of seconds >= 0"],
    ['a bad PYTEST_ADDOPTS says so', [], { PYTEST_ADDOPTS: '--maxfail=x' }, "pytest-ts: error: argument --maxfail: invalid int value: 'x' (config source: via PYTEST_ADDOPTS)"],
    ['PYTEST_ADDOPTS with an open quote', [], { PYTEST_ADDOPTS: '-m "slow' }, `PYTEST_ADDOPTS: '-m "slow' cannot be split into arguments: No closing quotation`],
    ['an unknown option anywhere is refused in the final parse', [], { PYTEST_ADDOPTS: '--bogus' }, 'pytest-ts: error: unrecognized arguments: --bogus'],
  ];
  for (const [name, argv, env, message] of errors) {
    it(`error: ${name}`, () => assert.equal(loadError(root, argv, { env }), message));
  }

  it('a bad addopts names the file and line', () => {
    const bad = project({ 'pytest.ini': '[pytest]\n\naddopts = --tb=fancy\n' });
    assert.equal(loadError(bad), "pytest-ts: error: argument --tb: invalid choice: 'fancy' (choose from 'auto', 'long', 'short', 'no', 'line', 'native') (config source: via addopts config, pytest.ini:3)");
    const unsplittable = project({ 'pytest.ini': '[pytest]\naddopts = -m "slow\n' });
    assert.equal(loadError(unsplittable), `pytest.ini:2: addopts: '-m "slow' cannot be split into arguments: No closing quotation`);
  });
});

describe('typed values', () => {
  const withValue = (key: string, value: string): Config => load(project({ 'pytest.ini': `[pytest]\n${key} = ${value}\n` }));
  const valueError = (key: string, value: string): string => loadError(project({ 'pytest.ini': `[pytest]\n${key} = ${value}\n` }));

  const bools: Array<[string, boolean]> = [
    ['true', true], ['True', true], ['YES', true], ['on', true], ['1', true], ['y', true], ['t', true],
    ['false', false], ['No', false], ['OFF', false], ['0', false], ['n', false], ['f', false],
  ];
  for (const [word, expected] of bools) it(`log_cli = ${word} is ${expected}`, () => assert.equal(withValue('log_cli', word).ini.logCli, expected));

  const errors: Array<[string, string, string]> = [
    ['log_cli', 'maybe', "pytest.ini:2: log_cli: 'maybe' is not a boolean (use true/false, yes/no, on/off or 1/0)"],
    ['log_cli', 'true # live', "pytest.ini:2: log_cli: 'true # live' is not a boolean (use true/false, yes/no, on/off or 1/0)"],
    ['junit_family', 'xunit3', "pytest.ini:2: junit_family: 'xunit3' is not one of 'xunit1', 'legacy', 'xunit2'"],
    ['junit_logging', 'some', "pytest.ini:2: junit_logging: 'some' is not one of 'no', 'log', 'system-out', 'system-err', 'out-err', 'all'"],
    ['junit_duration_report', 'setup', "pytest.ini:2: junit_duration_report: 'setup' is not one of 'total', 'call'"],
    ['console_output_style', 'fancy', "pytest.ini:2: console_output_style: 'fancy' is not one of 'progress', 'classic', 'count', 'times', 'progress-even-when-capture-no'"],
    ['isolation', 'thread', "pytest.ini:2: isolation: 'thread' is not one of 'none', 'forked', 'worker'"],
    ['timeout_method', 'process', "pytest.ini:2: timeout_method: 'process' is not one of 'signal', 'thread'"],
    ['worker_max_old_space_size', '4g', "pytest.ini:2: worker_max_old_space_size: '4g' is not a whole number of megabytes > 0"],
    ['worker_max_old_space_size', '0', "pytest.ini:2: worker_max_old_space_size: '0' is not a whole number of megabytes > 0"],
    ['log_cli_level', 'LOUD', "pytest.ini:2: log_cli_level: 'LOUD' is not recognized as a logging level name for 'log_cli_level'. Please consider passing the logging level num instead."],
    ['empty_parameter_set_mark', 'drop', "pytest.ini:2: empty_parameter_set_mark: empty_parameter_set_mark must be one of skip, xfail or fail_at_collect but it is 'drop'"],
    ['minversion', '99.0', "pytest.ini:2: minversion: 'minversion' requires pytest-99.0, and pytest-ts behaves as pytest-9.0.3"],
    ['minversion', 'latest', "pytest.ini:2: minversion: 'latest' is not a version"],
  ];
  for (const [key, value, message] of errors) it(`${key} = ${value} is refused`, () => assert.equal(valueError(key, value), message));

  it('values that are accepted', () => {
    assert.equal(withValue('timeout', '0').ini.timeout, 0);
    assert.equal(withValue('timeout', ' 1.5e3 ').ini.timeout, 1500);
    assert.equal(withValue('worker_max_old_space_size', '4096').ini.workerMaxOldSpaceSize, 4096);
    assert.equal(withValue('log_cli_level', 'debug').settings.logCliLevel, 10);
    assert.equal(withValue('log_cli_level', '15').settings.logCliLevel, 15);
    assert.equal(withValue('empty_parameter_set_mark', '').ini.emptyParameterSetMark, 'skip');
    assert.equal(withValue('minversion', '7.0').ini.minversion, '7.0');
    assert.deepEqual(withValue('testpaths', 'suites "other dir"').ini.testpaths, ['suites', 'other dir']);
    assert.deepEqual(withValue('usefixtures', 'a b').ini.usefixtures, ['a', 'b']);
  });

  it('defaults', () => {
    const { ini } = load(project({ 'pytest.ini': '[pytest]\n' }));
    assert.deepEqual(ini.pythonFiles, ['test_*.ts', '*_test.ts']);
    assert.deepEqual([ini.pythonClasses, ini.pythonFunctions], [['Test'], ['test']]);
    assert.deepEqual([ini.junitFamily, ini.junitSuiteName, ini.junitLogging, ini.junitLogPassingTests, ini.junitDurationReport], ['xunit2', 'pytest', 'no', true, 'total']);
    assert.deepEqual([ini.timeout, ini.logCli, ini.consoleOutputStyle, ini.cacheDir, ini.isolation], [0, false, 'progress', '.pytest_cache', undefined]);
    assert.ok(ini.norecursedirs.includes('node_modules'));
  });

  it('markers: signature, name and description', () => {
    const { ini } = withValue('markers', '\n  slow: tests that run >= 1 hour\n  custom(arg, key=1): matched by -m "custom(key=1)"\n  bare');
    assert.deepEqual(ini.markers, [
      { name: 'slow', signature: 'slow', description: 'tests that run >= 1 hour', line: 'slow: tests that run >= 1 hour' },
      { name: 'custom', signature: 'custom(arg, key=1)', description: 'matched by -m "custom(key=1)"', line: 'custom(arg, key=1): matched by -m "custom(key=1)"' },
      { name: 'bare', signature: 'bare', description: '', line: 'bare' },
    ]);
  });

  it('strict resolves strict_* that are not set; xfail_strict is an alias of strict_xfail', () => {
    const strict = load(project({ 'pytest.ini': '[pytest]\nstrict = true\nstrict_markers = false\n' })).ini;
    assert.deepEqual([strict.strict, strict.strictConfig, strict.strictMarkers, strict.strictXfail, strict.strictParametrizationIds], [true, true, false, true, true]);
    assert.equal(withValue('xfail_strict', 'true').ini.strictXfail, true);
    assert.equal(load(project({ 'pytest.ini': '[pytest]\nxfail_strict = true\nstrict_xfail = false\n' })).ini.strictXfail, false);
    assert.equal(load(project({ 'pytest.ini': '[pytest]\nstrict_xfail = false\n' }), ['-o', 'xfail_strict=true']).ini.strictXfail, true);
    assert.equal(load(project({ 'pytest.ini': '[pytest]\n' }), ['--strict-config']).ini.strictConfig, true);
  });

  it('pyproject.toml [tool.pytest.ini_options]: lists stay lists, scalars become strings first', () => {
    const config = load(project({ 'pyproject.toml': '[project]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = ["-v", "-m", "not slow"]\nmarkers = ["gpu: needs a GPU"]\nlog_cli = true\ntimeout = 7200\nxfail_strict = 1\n' }));
    assert.equal(config.inifileRelative, 'pyproject.toml');
    assert.equal(config.args.markexpr, 'not slow');
    assert.deepEqual(config.ini.markers.map((m) => m.name), ['gpu']);
    assert.deepEqual([config.ini.logCli, config.ini.timeout, config.ini.strictXfail], [true, 7200, true]);
    assert.equal(config.iniLines.log_cli, 7);
  });

  it('TOML-native tables ([tool.pytest], pytest.toml) check types like pytest', () => {
    const native = load(project({ 'pyproject.toml': '[tool.pytest]\naddopts = ["-v"]\nlog_cli = true\ntimeout = 30\n' }));
    assert.equal(load(project({ 'pytest.toml': '[pytest]\ntimeout = 9007199254740993\n' })).ini.timeout, 9007199254740992);
    // -c with another TOML file reads it like a pyproject.toml, as pytest does
    const custom = project({ 'custom.toml': '[tool.pytest.ini_options]\nmarkers = ["h"]\n' });
    assert.deepEqual(load(custom, ['-c', 'custom.toml']).ini.markers.map((m) => m.name), ['h']);
    assert.deepEqual([native.args.verbose, native.ini.logCli, native.ini.timeout], [1, true, 30]);
    const refusals: Array<[string, string]> = [
      ['log_cli = "true"', "pytest.toml:2: log_cli: expects a bool, got str: 'true'"],
      ['addopts = "-v"', "pytest.toml:2: addopts: expects a list for type 'args', got str: '-v'"],
      ['markers = ["a", 1]', "pytest.toml:2: markers: expects a list of strings, but item at index 1 is int: 1"],
      ['junit_family = ["xunit1"]', "pytest.toml:2: junit_family: expects a string, got list: ['xunit1']"],
      ['timeout = "7200"', "pytest.toml:2: timeout: expects a float, got str: '7200'"],
      ['worker_max_old_space_size = 1.5', 'pytest.toml:2: worker_max_old_space_size: expects an int, got float: 1.5'],
    ];
    for (const [line, message] of refusals) assert.equal(loadError(project({ 'pytest.toml': `[pytest]\n${line}\n` })), message);
  });
});

describe('unknown keys', () => {
  const root = project({ 'pytest.ini': '[pytest]\nfoo = 1\nbar = 2\nmarkers = gpu\n' });

  it('are listed (file and -o), sorted, and warned about like pytest', () => {
    const config = load(root, ['-o', 'zed=1']);
    assert.deepEqual(config.unknownKeys, ['bar', 'foo', 'zed']);
    assert.deepEqual(unknownKeyWarnings(config, ['zed']), ['PytestConfigWarning: Unknown config option: bar', 'PytestConfigWarning: Unknown config option: foo']);
    assert.equal(config.iniRaw.foo, '1');
  });

  it('--strict-config (or strict_config / strict) makes the first one a usage error', () => {
    assert.throws(() => unknownKeyWarnings(load(root, ['--strict-config'])), { message: 'Unknown config option: bar' });
    assert.throws(() => unknownKeyWarnings(load(root, ['-o', 'strict=true'])), { message: 'Unknown config option: bar' });
    assert.deepEqual(unknownKeyWarnings(load(root, ['--strict-config']), ['bar', 'foo']), []);
  });

  it('readIni types a conftest-declared key', () => {
    const config = load(project({ 'pytest.ini': '[pytest]\ndevice_list = cpu cuda\ngpu_only = yes\n' }));
    assert.deepEqual(readIni(config, 'device_list', 'args', []), ['cpu', 'cuda']);
    assert.equal(readIni(config, 'gpu_only', 'bool', false), true);
    assert.equal(readIni(config, 'missing', 'string', 'fallback'), 'fallback');
  });
});

describe('command line settings merged with the ini', () => {
  const root = project({ 'pytest.ini': '[pytest]\ntimeout = 60\nisolation = worker\nlog_level = warning\n' });

  it('timeout, isolation and log levels', () => {
    assert.deepEqual([load(root).settings.timeout, load(root, ['--timeout=5']).settings.timeout], [60, 5]);
    assert.deepEqual([load(root).settings.isolation, load(root, ['--forked']).settings.isolation, load(root, ['--forked', '--isolation=none']).settings.isolation], ['worker', 'forked', 'none']);
    assert.deepEqual([load(root).settings.logCli, load(root).settings.logCliLevel, load(root).settings.logLevel], [false, 30, 30]);
    assert.deepEqual([load(root, ['--log-cli-level=error']).settings.logCli, load(root, ['--log-cli-level=error']).settings.logCliLevel], [true, 40]);
  });

  it('a bad --log-cli-level or --timeout is refused', () => {
    assert.equal(loadError(root, ['--log-cli-level=chatty']), "'CHATTY' is not recognized as a logging level name for 'log_cli_level'. Please consider passing the logging level num instead.");
    assert.equal(loadError(root, ['--timeout=-2']), "argument --timeout: '-2' is not a number of seconds >= 0");
  });
});

describe('two-phase loading with conftest options', () => {
  const root = project({ 'pytest.ini': '[pytest]\naddopts = --device=cuda\n' });

  it('the lenient load sets unknown options aside; the strict load with the conftest\'s options takes them', () => {
    const early = loadConfig(['suites'], root, [], { env: {}, lenient: true });
    assert.deepEqual(early.unknownFlags, ['--device=cuda']);
    assert.equal(early.rootdir, root);
    const config = loadConfig(['suites'], root, [{ flag: '--device', type: 'string', choices: ['cpu', 'cuda'], help: '' }], { env: {} });
    assert.equal(config.args.extra.device, 'cuda');
    assert.equal(loadError(root), 'pytest-ts: error: unrecognized arguments: --device=cuda');
  });
});

describe('initialPaths (pytest\'s _decide_args)', () => {
  const root = project({ 'pytest.ini': '[pytest]\ntestpaths = suites more/*/x nothing\n', 'suites/': '', 'more/a/x/': '', 'more/.h/x/': '', 'more/b/': '' });

  it('arguments win; else testpaths (globbed) when run from the rootdir; else the cwd', () => {
    assert.deepEqual(initialPaths(load(root, ['a.ts'])), { paths: ['a.ts'], source: 'args' });
    assert.deepEqual(initialPaths(load(root)), { paths: ['suites', 'more/a/x'], source: 'testpaths' });
    assert.deepEqual(initialPaths(load(join(root, 'suites'))), { paths: [join(root, 'suites')], source: 'invocation_dir' });
  });

  it('testpaths that match nothing fall back to the cwd with pytest\'s warning', () => {
    const empty = project({ 'pytest.ini': '[pytest]\ntestpaths = missing/**\n' });
    const result = initialPaths(load(empty));
    assert.deepEqual([result.paths, result.source], [[empty], 'invocation_dir']);
    assert.match(result.warning ?? '', /^PytestConfigWarning: No files were found in testpaths;/);
  });

  it('** matches any depth, as Python\'s glob does', () => {
    const deep = project({ 'pytest.ini': '[pytest]\ntestpaths = **/test_*.ts\n', 'test_a.ts': '', 'x/y/test_b.ts': '', 'x/test_c.js': '', '.h/test_d.ts': '' });
    assert.deepEqual(initialPaths(load(deep)).paths, ['test_a.ts', 'x/y/test_b.ts']);
    const tail = project({ 'pytest.ini': '[pytest]\ntestpaths = x/**\n', 'x/a/b.ts': '', 'x/c.ts': '' });
    assert.deepEqual(initialPaths(load(tail)).paths, ['x/', 'x/a', 'x/a/b.ts', 'x/c.ts']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The oracle: pytest-native layouts through real pytest.

const ORACLE = `
import json, os, sys
os.environ['PYTEST_DISABLE_PLUGIN_AUTOLOAD'] = '1'
os.environ.pop('PYTEST_ADDOPTS', None)
import _pytest.config as c
out = []
for cwd, args in json.load(sys.stdin):
    os.chdir(cwd)
    cfg = c._prepareconfig(list(args))
    out.append([str(cfg.rootpath), str(cfg.inipath) if cfg.inipath else None, cfg.getini('markers'), cfg.option.verbose])
    cfg._ensure_unconfigure()
print(json.dumps(out))
`;

const noPytest = spawnSync('python3', ['-c', 'import pytest'], { encoding: 'utf8' }).status === 0 ? false : 'python3 with pytest is not installed';

describe('discovery agrees with real pytest', () => {
  it('on layouts pytest understands', { skip: noPytest }, () => {
    const layouts: Array<[Record<string, string>, string, string[]]> = [
      [{ 'pytest.ini': '[pytest]\nmarkers = a\naddopts = -v\n', 'sub/t.py': '' }, 'sub', []],
      [{ 'tox.ini': '[tox]\n', 'setup.cfg': '[tool:pytest]\nmarkers =\n  b: x\n  c\n', 'sub/': '' }, 'sub', []],
      [{ 'pyproject.toml': '[tool.pytest.ini_options]\nmarkers = ["d"]\naddopts = "-vv"\n', 'x/y/': '' }, 'x/y', []],
      [{ 'one/pytest.ini': '[pytest]\nmarkers = e\n', 'two/tox.ini': '[pytest]\nmarkers = f\n' }, '.', ['two', 'one']],
      [{ 'setup.py': '', 'a/b/t.py': '' }, 'a/b', ['t.py']],
      [{ 'a/b/': '', 'c/': '' }, 'c', ['../a/b']],
      [{ 'cfg/x.ini': '[pytest]\nmarkers = g\n', 'w/': '' }, 'w', ['-c', '../cfg/x.ini']],
      [{ 'pytest.ini': '[pytest]\n', 'r/': '' }, '.', ['--rootdir=r', '-q']],
      [{ 'sub/pyproject.toml': '[project]\nname = "x"\n' }, 'sub', []],
    ];
    const runs = layouts.map(([files, cwd, args]) => [join(project(files), cwd), args] as const);
    const result = spawnSync('python3', ['-c', ORACLE], { input: JSON.stringify(runs), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const answers = JSON.parse(result.stdout) as Array<[string, string | null, string[], number]>;
    runs.forEach(([cwd, args], index) => {
      const config = load(cwd, [...args]);
      assert.deepEqual(
        [config.rootdir, config.inipath ?? null, config.ini.markers.map((m) => m.line), config.args.verbose],
        answers[index],
        `layout ${index}: ${JSON.stringify(layouts[index])}`,
      );
    });
  });
});
