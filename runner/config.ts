// Finding the config file and the rootdir as pytest 9 does (_pytest/config/findpaths.py), reading addopts,
// PYTEST_ADDOPTS and -o, and typing the [pytest] values.
//
// Discovery. From the common ancestor of the existing path arguments (or the cwd), walk up to the filesystem
// root; in each directory the first of these that holds pytest configuration wins:
//     pytest.toml  .pytest.toml  pytest.ini  .pytest.ini  package.json*  pyproject.toml  tox.ini  setup.cfg
// (*) Ours: a package.json with `"pytest-ts": {"configFile": "memory.ini"}` names a config file (relative to the
//     package.json; read like pytest.ini, section [pytest], or like pytest.toml when it ends in .toml). It ranks
//     after pytest's own dedicated files (pytest.toml, pytest.ini and their dot forms) and before the shared ones
//     (pyproject.toml, tox.ini, setup.cfg), so a pytest.ini beside it still wins, as it would for pytest. A
//     package.json without the entry is not a config file. The rootdir is the package.json's directory.
// What holds configuration: pytest.ini/.pytest.ini and pytest.toml/.pytest.toml always (even empty); tox.ini only
// with [pytest]; setup.cfg only with [tool:pytest] ([pytest] there is an error); pyproject.toml only with
// [tool.pytest.ini_options] (strings, like an ini) or [tool.pytest] (native TOML types), not both.
// Rootdir: the directory where the config was found; with -c, the file's directory; with no config, the first
// ancestor holding setup.py, else the common ancestor of cwd and the paths (pytest's rules, unchanged); with
// --rootdir, that directory ($VARS expanded). A pyproject.toml seen on the walk without pytest config becomes the
// config file (empty) when nothing else is found, as in pytest.
//
// Bootstrapping, as pytest does it: PYTEST_ADDOPTS + argv are parsed leniently first (for -c, --rootdir, -o and
// the paths), the config is found, then the ini's addopts are prepended and everything is parsed again.
// Precedence of values: file < addopts -o < PYTEST_ADDOPTS -o < command-line -o (the last -o for a key wins).
// --strict-markers / --strict-config / --strict are `-o strict_*=true` (pytest 9). pytest 9.0.3 ignores -o and
// --strict-* inside the ini's own addopts (regression pytest-dev/pytest#14442, fixed by #14443); we apply them, as
// the fix does and as pytest 8 did.
//
// Paths in messages are relative to the cwd when the file lies below it, else absolute (pytest prints absolute):
// `memory.ini:24: timeout: '7200  # 2 hours max per test' is not a number of seconds`.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import {
  parseArgs, parseArgsLenient, type ExtraOptionSpec, type IsolationMode, type Options,
} from './args.js';
import { UsageError } from './exit-codes.js';
import { PACKAGE_ROOT } from './paths.js';
import { fnmatch } from './glob.js';
import { IniError, parseIni, parsePythonFloat, parsePythonInt, pyRepr, pyStrip, shlexSplit, shownRaw } from './ini.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types

export interface MarkerSpec {
  /** The marker's name, for --strict-markers: `custom` for `custom(arg): ...`. */
  name: string;
  /** The part before the first ':' as written (`custom(arg)`), which `--markers` shows. */
  signature: string;
  /** The text after the first ':', stripped. */
  description: string;
  /** The whole line, for output that must match pytest's byte for byte. */
  line: string;
}

export type JunitFamily = 'xunit1' | 'legacy' | 'xunit2';
export type JunitLogging = 'no' | 'log' | 'system-out' | 'system-err' | 'out-err' | 'all';
export type ConsoleOutputStyle = 'progress' | 'classic' | 'count' | 'times' | 'progress-even-when-capture-no';

/** The [pytest] values, typed, defaults applied, after -o overrides. Strictness fields are resolved (strict_* ?? strict). */
export interface IniOptions {
  addopts: string[];
  markers: MarkerSpec[];
  /** Used as written: an ini for pytest-ts names .ts patterns. Default `test_*.ts *_test.ts`. */
  pythonFiles: string[];
  pythonClasses: string[];
  pythonFunctions: string[];
  testpaths: string[];
  norecursedirs: string[];
  usefixtures: string[];
  /** Seconds; 0 = no timeout (pytest-timeout's meaning). */
  timeout: number;
  /** pytest-timeout's method; accepted for compatibility. pytest-ts always fails only the test that timed out. */
  timeoutMethod?: 'signal' | 'thread';
  logCli: boolean;
  logCliLevel?: string;
  logCliFormat?: string;
  logCliDateFormat?: string;
  logLevel?: string;
  logFormat?: string;
  logDateFormat?: string;
  filterwarnings: string[];
  junitFamily: JunitFamily;
  junitSuiteName: string;
  junitLogging: JunitLogging;
  junitLogPassingTests: boolean;
  junitDurationReport: 'total' | 'call';
  consoleOutputStyle: ConsoleOutputStyle;
  strict: boolean;
  strictConfig: boolean;
  strictMarkers: boolean;
  /** strict_xfail, alias xfail_strict. */
  strictXfail: boolean;
  strictParametrizationIds: boolean;
  requiredPlugins: string[];
  minversion?: string;
  cacheDir: string;
  emptyParameterSetMark: 'skip' | 'xfail' | 'fail_at_collect';
  /** Ours. Unset when the ini does not say. */
  isolation?: IsolationMode;
  /** Ours: --max-old-space-size of worker processes, in MB. */
  workerMaxOldSpaceSize?: number;
}

/** Values where pytest merges the command line and the ini, merged the same way. */
export interface RunSettings {
  /** --timeout, else ini timeout; seconds, 0 = none. */
  timeout: number;
  /** --isolation, else --forked ('forked'), else ini isolation, else 'none'. */
  isolation: IsolationMode;
  /** Live logging: ini log_cli, or --log-cli-level given (pytest's rule). */
  logCli: boolean;
  /** Numeric level from --log-cli-level, log_cli_level, --log-level, log_level (first set); undefined = not set. */
  logCliLevel?: number;
  /** Numeric level from --log-level, log_level. */
  logLevel?: number;
  logFormat: string;
  logDateFormat: string;
  logCliFormat: string;
  logCliDateFormat: string;
}

export interface Config {
  /** Absolute. */
  rootdir: string;
  /** Absolute path of the config file, if any. */
  inipath?: string;
  /** As pytest prints it: `configfile: memory.ini` (relative to the rootdir). */
  inifileRelative?: string;
  /** Config files beside the chosen one that also hold pytest config (pytest warns that they are ignored). */
  ignoredConfigFiles: string[];
  ini: IniOptions;
  /** key -> 1-based line in the config file, for messages. */
  iniLines: Record<string, number>;
  /** Keys of the file and of -o that no option knows, sorted (pytest checks them after collection). */
  unknownKeys: string[];
  /** Raw values (strings, or lists from TOML) of every key, overrides applied, for conftest-declared ini keys. */
  iniRaw: Record<string, unknown>;
  args: Options;
  /** addopts + PYTEST_ADDOPTS + argv: what `args` was parsed from. */
  fullArgv: string[];
  /** Lenient loads only: option-like arguments no option knew (a conftest's options, not loaded yet). */
  unknownFlags: string[];
  settings: RunSettings;
  invocationDir: string;
}

export interface LoadConfigContext {
  /** Where PYTEST_ADDOPTS is read. Default: process.env. */
  env?: Record<string, string | undefined>;
  /**
   * true: unknown options are collected in `unknownFlags` instead of refused. The first of two loads: find the
   * rootdir and conftests with it, then load again (strictly) with the options the conftests declare.
   */
  lenient?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Raw entries

interface ConfigEntry {
  value: unknown;
  /** 'ini': a string or (from pyproject's ini_options) a list; 'toml': native TOML types. */
  mode: 'ini' | 'toml';
  origin: 'file' | 'override';
  line?: number;
}

interface FoundConfig {
  inipath: string;
  entries: Map<string, ConfigEntry>;
}

/**
 * The invocation directory of the load in progress, which paths in messages are shown relative to. Module state
 * rather than a parameter threaded through every reader; safe because loadConfig is synchronous.
 */
let messageBase = process.cwd();

function shown(path: string): string {
  const rel = relative(messageBase, path);
  return rel === '' || rel.startsWith('..') || rel.startsWith(sep) ? path : rel;
}

function readText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`${shown(path)}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    // ignoreBOM keeps a BOM in the text, as Python's utf-8 codec does (iniconfig then rejects the first line).
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${shown(path)}: not valid UTF-8`);
  }
}

function isFile(path: string): boolean {
  try { return statSync(path).isFile(); } catch { return false; }
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading one file

function iniEntries(path: string, section: string): Map<string, ConfigEntry> | undefined {
  let parsed;
  try {
    parsed = parseIni(readText(path), shown(path));
  } catch (error) {
    if (error instanceof IniError) throw new UsageError(error.message);
    throw error;
  }
  const values = parsed.sections.get(section);
  if (values === undefined) return undefined;
  return new Map([...values].map(([key, { value, line }]) => [key, { value, mode: 'ini', origin: 'file', line }]));
}

type TomlTable = Record<string, unknown>;

function parseToml(path: string): { table: TomlTable; text: string } {
  const text = readText(path);
  // smol-toml costs ~6 ms through require and ~18 ms through import: load it only when a TOML file is read.
  const toml = createRequire(`${PACKAGE_ROOT}/package.json`)('smol-toml') as typeof import('smol-toml');
  try {
    return { table: toml.parse(text, { integersAsBigInt: 'asNeeded' }) as TomlTable, text };
  } catch (error) {
    const { message, line, column } = error as { message: string; line?: number; column?: number };
    const where = line === undefined ? '' : ` (at line ${line}, column ${column})`;
    throw new UsageError(`${shown(path)}: ${message.split('\n')[0]}${where}`);
  }
}

/** Best effort: the line of `key =` after the header of `table` (smol-toml gives no positions). */
function tomlKeyLines(text: string, header: string): Map<string, number> {
  const lines = text.split(/\r?\n/);
  const result = new Map<string, number>();
  const start = lines.findIndex((line) => line.trim() === `[${header}]`);
  if (start < 0) return result;
  for (let i = start + 1; i < lines.length && !/^\s*\[/.test(lines[i]!); i++) {
    const match = /^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=/.exec(lines[i]!);
    if (match) result.set(match[1] ?? match[2] ?? match[3]!, i + 1);
  }
  return result;
}

function tomlEntries(table: TomlTable, mode: 'ini' | 'toml', lines: Map<string, number>): Map<string, ConfigEntry> {
  const entries = new Map<string, ConfigEntry>();
  for (const [key, raw] of Object.entries(table)) {
    // pytest's make_scalar: in ini mode a list stays a list, anything else becomes str(value).
    const value = mode === 'toml' || Array.isArray(raw) ? raw : pyStr(raw);
    entries.set(key, { value, mode, origin: 'file', line: lines.get(key) });
  }
  return entries;
}

/** `pytestTable`: read [pytest] (pytest.toml, or a TOML file our package.json names); else [tool.pytest...]. */
function tomlConfig(path: string, pytestTable: boolean): Map<string, ConfigEntry> | undefined {
  const { table, text } = parseToml(path);
  if (pytestTable) {
    const pytest = (table.pytest ?? {}) as TomlTable;
    return tomlEntries(pytest, 'toml', tomlKeyLines(text, 'pytest'));
  }
  const tool = ((table.tool as TomlTable | undefined)?.pytest ?? {}) as TomlTable;
  const { ini_options: iniOptions, ...native } = tool;
  if (Object.keys(native).length > 0 && iniOptions !== undefined) {
    throw new UsageError(
      `${shown(path)}: Cannot use both [tool.pytest] (native TOML types) and [tool.pytest.ini_options] (string-based INI format) simultaneously. Please use [tool.pytest] with native TOML types (recommended) or [tool.pytest.ini_options] for backwards compatibility.`,
    );
  }
  if (Object.keys(native).length > 0) return tomlEntries(native, 'toml', tomlKeyLines(text, 'tool.pytest'));
  if (iniOptions !== undefined) return tomlEntries(iniOptions as TomlTable, 'ini', tomlKeyLines(text, 'tool.pytest.ini_options'));
  return undefined;
}

/** The file a package.json's "pytest-ts" entry names, or undefined when it has none. */
function packageJsonTarget(path: string): string | undefined {
  const text = readText(path).replace(/^\ufeff/, ''); // npm tolerates a BOM in package.json
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    // A broken package.json that never mentions us is npm's business, not ours.
    if (!text.includes('"pytest-ts"')) return undefined;
    throw new UsageError(`${shown(path)}: not valid JSON (${(error as Error).message})`);
  }
  const entry = (manifest as Record<string, unknown> | null)?.['pytest-ts'];
  if (entry === undefined) return undefined;
  const configFile = (entry as Record<string, unknown> | null)?.configFile;
  if (typeof configFile !== 'string' || configFile === '') {
    throw new UsageError(`${shown(path)}: "pytest-ts" must be an object like {"configFile": "memory.ini"}`);
  }
  const target = resolve(dirname(path), configFile);
  if (!isFile(target)) {
    throw new UsageError(`${shown(path)}: "pytest-ts".configFile names ${pyRepr(configFile)}, which is not a file`);
  }
  return target;
}

/** pytest's load_config_dict_from_file, plus package.json; undefined = "holds no pytest configuration". */
function loadConfigFile(path: string): FoundConfig | undefined {
  const name = basename(path);
  if (name === 'package.json') {
    const target = packageJsonTarget(path);
    if (target === undefined) return undefined;
    const entries = target.endsWith('.toml') ? tomlConfig(target, true) : iniEntries(target, 'pytest');
    return { inipath: target, entries: entries ?? new Map() };
  }
  const always = name === 'pytest.ini' || name === '.pytest.ini' || name === 'pytest.toml' || name === '.pytest.toml';
  let entries: Map<string, ConfigEntry> | undefined;
  if (name.endsWith('.ini')) entries = iniEntries(path, 'pytest');
  else if (name.endsWith('.cfg')) {
    entries = iniEntries(path, 'tool:pytest');
    if (entries === undefined && iniEntries(path, 'pytest') !== undefined) {
      throw new UsageError('[pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead.');
    }
  } else if (name.endsWith('.toml')) entries = tomlConfig(path, name === 'pytest.toml' || name === '.pytest.toml');
  if (entries === undefined && !always) return undefined;
  return { inipath: path, entries: entries ?? new Map() };
}

// ---------------------------------------------------------------------------------------------------------------
// Finding it

const CONFIG_NAMES = ['pytest.toml', '.pytest.toml', 'pytest.ini', '.pytest.ini', 'package.json', 'pyproject.toml', 'tox.ini', 'setup.cfg'];

interface Located extends FoundConfig {
  rootdir: string;
  ignored: string[];
}

function ancestorsOf(dir: string): string[] {
  const chain = [dir];
  for (let parent = dirname(dir); parent !== chain[chain.length - 1]; parent = dirname(parent)) chain.push(parent);
  return chain;
}

/** pytest's locate_config. */
function locateConfig(dirs: string[]): Located | undefined {
  let pyproject: string | undefined;
  for (const start of dirs) {
    for (const base of ancestorsOf(start)) {
      for (const [index, name] of CONFIG_NAMES.entries()) {
        const path = join(base, name);
        if (!isFile(path)) continue;
        if (name === 'pyproject.toml') pyproject ??= path;
        const found = loadConfigFile(path);
        if (found === undefined) continue;
        const ignored = CONFIG_NAMES.slice(index + 1).filter((other) => isFile(join(base, other)) && loadConfigFile(join(base, other)) !== undefined);
        return { ...found, rootdir: base, ignored };
      }
    }
  }
  if (pyproject !== undefined) return { inipath: pyproject, entries: new Map(), rootdir: dirname(pyproject), ignored: [] };
  return undefined;
}

function commonPath(a: string, b: string): string {
  const left = a.split(sep);
  const right = b.split(sep);
  let n = 0;
  while (n < left.length && n < right.length && left[n] === right[n]) n++;
  return left.slice(0, n).join(sep) || sep;
}

/** pytest's get_common_ancestor: the deepest directory holding every existing path; the cwd when none exists. */
function commonAncestor(cwd: string, paths: string[]): string {
  const existing = paths.filter((path) => existsSync(path));
  if (existing.length === 0) return cwd;
  const common = existing.reduce(commonPath);
  return isFile(common) ? dirname(common) : common;
}

/** pytest's get_dirs_from_args: the directory of each path argument (node id part dropped) that exists. */
function dirsFromArgs(paths: string[], cwd: string): string[] {
  return paths
    .filter((arg) => !arg.startsWith('-'))
    .map((arg) => resolve(cwd, arg.split('::')[0]!))
    .filter((path) => existsSync(path))
    .map((path) => (isDir(path) ? path : dirname(path)));
}

/** os.path.expandvars: $NAME and ${NAME} when NAME is set; anything else stays as written. */
function expandVars(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$(\w+|\{[^}]*\})/g, (whole: string, name: string) => {
    const key = name.startsWith('{') ? name.slice(1, -1) : name;
    return env[key] ?? whole;
  });
}

interface Setup {
  rootdir: string;
  found?: FoundConfig;
  ignored: string[];
}

/** pytest's determine_setup. */
function determineSetup(options: Options, cwd: string, env: Record<string, string | undefined>): Setup {
  const dirs = dirsFromArgs(options.paths, cwd);
  let setup: Setup | undefined;
  if (options.configFile) { // `-c ''` means no -c, as in pytest
    // pytest crashes with a traceback on a missing -c file; one line is kinder.
    const inipath = resolve(cwd, options.configFile);
    if (!existsSync(inipath)) throw new UsageError(`config file not found: ${shownRaw(options.configFile)} (given by -c/--config-file)`);
    if (!isFile(inipath)) throw new UsageError(`config file is not a file: ${shownRaw(options.configFile)} (given by -c/--config-file)`);
    const found = loadConfigFile(inipath) ?? { inipath, entries: new Map() };
    setup = { rootdir: dirname(inipath), found, ignored: [] };
  } else {
    const ancestor = commonAncestor(cwd, dirs);
    const located = locateConfig([ancestor]);
    if (located) setup = { rootdir: located.rootdir, found: located, ignored: located.ignored };
    else if (!options.rootdir) {
      const withSetupPy = ancestorsOf(ancestor).find((dir) => isFile(join(dir, 'setup.py')));
      if (withSetupPy !== undefined) setup = { rootdir: withSetupPy, ignored: [] };
      else {
        const sameAsAncestor = dirs.length === 1 && dirs[0] === ancestor;
        const fromArgs = sameAsAncestor ? undefined : locateConfig(dirs);
        if (fromArgs) setup = { rootdir: fromArgs.rootdir, found: fromArgs, ignored: [] };
        else {
          const rootdir = commonAncestor(cwd, [cwd, ancestor]);
          setup = { rootdir: rootdir === sep ? ancestor : rootdir, ignored: [] };
        }
      }
    }
  }
  if (options.rootdir) {
    const rootdir = resolve(cwd, expandVars(options.rootdir, env));
    if (!isDir(rootdir)) throw new UsageError(`Directory '${shownRaw(rootdir)}' not found. Check your '--rootdir' option.`);
    setup = { ...(setup ?? { ignored: [] }), rootdir };
  }
  return setup!;
}

// ---------------------------------------------------------------------------------------------------------------
// Python's str() and repr() of TOML values, for messages and for pyproject's ini_options (pytest str()s scalars)

function pyTypeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return 'int';
  if (typeof value === 'number') return 'float';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'datetime';
  return 'dict';
}

function pyReprValue(value: unknown): string {
  if (typeof value === 'string') return pyRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyReprValue).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyReprValue(v)}`).join(', ')}}`;
  }
  return pyStr(value);
}

function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Date) return String(value);
  return pyReprValue(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Typing the values

export type IniType = 'string' | 'bool' | 'args' | 'linelist' | 'float' | 'int';

/** Every key pytest-ts knows, with pytest's type for it. Anything else is an unknown key. */
const INI_TYPES: Record<string, IniType> = {
  addopts: 'args', markers: 'linelist', python_files: 'args', python_classes: 'args', python_functions: 'args',
  testpaths: 'args', norecursedirs: 'args', usefixtures: 'args', timeout: 'float', timeout_method: 'string',
  log_cli: 'bool', log_cli_level: 'string', log_cli_format: 'string', log_cli_date_format: 'string',
  log_level: 'string', log_format: 'string', log_date_format: 'string', filterwarnings: 'linelist',
  junit_family: 'string', junit_suite_name: 'string', junit_logging: 'string', junit_log_passing_tests: 'bool',
  junit_duration_report: 'string', console_output_style: 'string', strict: 'bool', strict_config: 'bool',
  strict_markers: 'bool', strict_xfail: 'bool', strict_parametrization_ids: 'bool', required_plugins: 'args',
  minversion: 'string', cache_dir: 'string', empty_parameter_set_mark: 'string', isolation: 'string',
  worker_max_old_space_size: 'int',
};
const INI_ALIASES: Record<string, string> = { xfail_strict: 'strict_xfail' };

const TRUE_WORDS = ['y', 'yes', 't', 'true', 'on', '1'];
const FALSE_WORDS = ['n', 'no', 'f', 'false', 'off', '0'];

const LOG_LEVELS: Record<string, number> = { CRITICAL: 50, FATAL: 50, ERROR: 40, WARN: 30, WARNING: 30, INFO: 20, DEBUG: 10, NOTSET: 0 };
const DEFAULT_LOG_FORMAT = '%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s';
const DEFAULT_LOG_DATE_FORMAT = '%H:%M:%S';
/** The pytest version whose behaviour pytest-ts reproduces, for `minversion`. */
export const PYTEST_COMPAT_VERSION = '9.0.3';

/** pytest's get_log_level_for_setting for one value: a level name (any case) or a number. */
export function logLevelNumber(value: string, setting: string): number {
  const upper = value.toUpperCase();
  const level = LOG_LEVELS[upper] ?? parsePythonInt(upper);
  if (level === undefined) {
    throw new UsageError(`'${upper}' is not recognized as a logging level name for '${setting}'. Please consider passing the logging level num instead.`);
  }
  return level;
}

/** Reads typed values from the entries of one load, failing with `FILE:LINE: key: why`. */
class IniReader {
  constructor(readonly entries: Map<string, ConfigEntry>, private readonly inipath: string | undefined) {}

  /** pytest's precedence among a key and its aliases: an override beats the file, the canonical name an alias. */
  entry(key: string): { entry: ConfigEntry; name: string } | undefined {
    const names = [key, ...Object.keys(INI_ALIASES).filter((alias) => INI_ALIASES[alias] === key)];
    const candidates = names.flatMap((name, rank) => {
      const entry = this.entries.get(name);
      return entry ? [{ entry, name, score: (entry.origin === 'override' ? 2 : 0) + (rank === 0 ? 1 : 0) }] : [];
    });
    candidates.sort((a, b) => b.score - a.score);
    return candidates[0];
  }

  where(key: string): string {
    const found = this.entry(key);
    if (found?.entry.origin === 'override') return '-o/--override-ini';
    const file = this.inipath === undefined ? '<config>' : shown(this.inipath);
    return found?.entry.line === undefined ? file : `${file}:${found.entry.line}`;
  }

  fail(key: string, why: string): never {
    throw new UsageError(`${this.where(key)}: ${this.entry(key)?.name ?? key}: ${why}`);
  }

  /** The value in pytest's shape for `type` (_getini_ini / _getini_toml), or undefined when the key is absent. */
  get(key: string, type: IniType): unknown {
    const found = this.entry(key);
    if (found === undefined) return undefined;
    const { value, mode } = found.entry;
    return mode === 'toml' ? this.checkToml(key, type, value) : this.convertIni(key, type, value);
  }

  private convertIni(key: string, type: IniType, value: unknown): unknown {
    if (type === 'args' || type === 'linelist') {
      if (Array.isArray(value)) return value.map(pyStr);
      const text = String(value);
      if (type === 'linelist') return text.split('\n').map(pyStrip).filter(Boolean);
      try {
        return shlexSplit(text);
      } catch (error) {
        this.fail(key, `${pyRepr(text)} cannot be split into arguments: ${(error as Error).message}`);
      }
    }
    if (type === 'bool') {
      const word = pyStrip(pyStr(value)).toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      this.fail(key, `${pyRepr(pyStr(value))} is not a boolean (use true/false, yes/no, on/off or 1/0)`);
    }
    if (typeof value !== 'string') this.fail(key, `expects a single value, got a list: ${pyReprValue(value)}`);
    return value;
  }

  private checkToml(key: string, type: IniType, value: unknown): unknown {
    const got = `got ${pyTypeName(value)}: ${pyReprValue(value)}`;
    if (type === 'args' || type === 'linelist') {
      if (!Array.isArray(value)) this.fail(key, `expects a list for type '${type}', ${got}`);
      const bad = value.findIndex((item) => typeof item !== 'string');
      if (bad >= 0) this.fail(key, `expects a list of strings, but item at index ${bad} is ${pyTypeName(value[bad])}: ${pyReprValue(value[bad])}`);
      return value;
    }
    const isInt = typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
    const ok = type === 'int' ? isInt : type === 'float' ? isInt || typeof value === 'number' : typeof value === (type === 'bool' ? 'boolean' : 'string');
    if (!ok) this.fail(key, `expects ${type === 'int' ? 'an int' : `a ${type}`}, ${got}`);
    return type === 'int' || type === 'float' ? String(value) : value;
  }

  args(key: string): string[] | undefined { return this.get(key, 'args') as string[] | undefined; }
  lines(key: string): string[] | undefined { return this.get(key, 'linelist') as string[] | undefined; }
  bool(key: string): boolean | undefined { return this.get(key, 'bool') as boolean | undefined; }
  string(key: string): string | undefined { return this.get(key, 'string') as string | undefined; }

  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.string(key);
    if (value === undefined) return fallback;
    if (!(choices as readonly string[]).includes(value)) this.fail(key, `${pyRepr(value)} is not one of ${choices.map(pyRepr).join(', ')}`);
    return value as T;
  }

  seconds(key: string): number | undefined {
    const text = this.get(key, 'float') as string | undefined;
    if (text === undefined) return undefined;
    const value = parsePythonFloat(text);
    if (value === undefined) this.fail(key, `${pyRepr(text)} is not a number of seconds`);
    if (!(value >= 0)) this.fail(key, `${pyRepr(text)} is not a number of seconds >= 0`);
    return value;
  }

  megabytes(key: string): number | undefined {
    const text = this.get(key, 'int') as string | undefined;
    if (text === undefined) return undefined;
    const value = parsePythonInt(text);
    if (value === undefined || value <= 0) this.fail(key, `${pyRepr(text)} is not a whole number of megabytes > 0`);
    return value;
  }

  logLevel(key: string): string | undefined {
    const value = this.string(key);
    if (value) {
      try { logLevelNumber(value, key); } catch (error) { this.fail(key, (error as Error).message); }
    }
    return value;
  }
}

function parseMarkers(lines: string[]): MarkerSpec[] {
  return lines.map((line) => {
    const colon = line.indexOf(':');
    const signature = colon < 0 ? line : line.slice(0, colon);
    const description = colon < 0 ? '' : pyStrip(line.slice(colon + 1));
    return { name: pyStrip(signature.split('(')[0]!), signature, description, line };
  });
}

function typeIniOptions(read: IniReader): IniOptions {
  const strict = read.bool('strict') ?? false;
  const emptyMark = read.string('empty_parameter_set_mark') || 'skip';
  if (!['skip', 'xfail', 'fail_at_collect'].includes(emptyMark)) {
    read.fail('empty_parameter_set_mark', `empty_parameter_set_mark must be one of skip, xfail or fail_at_collect but it is ${pyRepr(emptyMark)}`);
  }
  const timeoutMethod = read.string('timeout_method');
  if (timeoutMethod !== undefined) read.choice('timeout_method', ['signal', 'thread'], 'signal');
  const isolation = read.string('isolation');
  if (isolation !== undefined) read.choice('isolation', ['none', 'forked', 'worker'], 'none');
  return {
    addopts: read.args('addopts') ?? [],
    markers: parseMarkers(read.lines('markers') ?? []),
    pythonFiles: read.args('python_files') ?? ['test_*.ts', '*_test.ts'],
    pythonClasses: read.args('python_classes') ?? ['Test'],
    pythonFunctions: read.args('python_functions') ?? ['test'],
    testpaths: read.args('testpaths') ?? [],
    norecursedirs: read.args('norecursedirs') ?? ['*.egg', '.*', '_darcs', 'build', 'CVS', 'dist', 'node_modules', 'venv', '{arch}'],
    usefixtures: read.args('usefixtures') ?? [],
    timeout: read.seconds('timeout') ?? 0,
    timeoutMethod: timeoutMethod as IniOptions['timeoutMethod'],
    logCli: read.bool('log_cli') ?? false,
    logCliLevel: read.logLevel('log_cli_level'),
    logCliFormat: read.string('log_cli_format'),
    logCliDateFormat: read.string('log_cli_date_format'),
    logLevel: read.logLevel('log_level'),
    logFormat: read.string('log_format'),
    logDateFormat: read.string('log_date_format'),
    filterwarnings: read.lines('filterwarnings') ?? [],
    junitFamily: read.choice('junit_family', ['xunit1', 'legacy', 'xunit2'], 'xunit2'),
    junitSuiteName: read.string('junit_suite_name') ?? 'pytest',
    junitLogging: read.choice('junit_logging', ['no', 'log', 'system-out', 'system-err', 'out-err', 'all'], 'no'),
    junitLogPassingTests: read.bool('junit_log_passing_tests') ?? true,
    junitDurationReport: read.choice('junit_duration_report', ['total', 'call'], 'total'),
    consoleOutputStyle: read.choice('console_output_style', ['progress', 'classic', 'count', 'times', 'progress-even-when-capture-no'], 'progress'),
    strict,
    strictConfig: read.bool('strict_config') ?? strict,
    strictMarkers: read.bool('strict_markers') ?? strict,
    strictXfail: read.bool('strict_xfail') ?? strict,
    strictParametrizationIds: read.bool('strict_parametrization_ids') ?? strict,
    requiredPlugins: read.args('required_plugins') ?? [],
    minversion: read.string('minversion'),
    cacheDir: read.string('cache_dir') ?? '.pytest_cache',
    emptyParameterSetMark: emptyMark as IniOptions['emptyParameterSetMark'],
    isolation: isolation as IsolationMode | undefined,
    workerMaxOldSpaceSize: read.megabytes('worker_max_old_space_size'),
  };
}

function checkMinversion(read: IniReader, minversion: string | undefined): void {
  if (!minversion) return;
  const release = (text: string): number[] | undefined => /^\s*v?(\d+(?:\.\d+)*)/i.exec(text)?.[1]!.split('.').map(Number);
  const wanted = release(minversion);
  if (wanted === undefined) read.fail('minversion', `${pyRepr(minversion)} is not a version`);
  const actual = release(PYTEST_COMPAT_VERSION)!;
  for (let i = 0; i < Math.max(wanted.length, actual.length); i++) {
    const diff = (wanted[i] ?? 0) - (actual[i] ?? 0);
    if (diff < 0) return;
    if (diff > 0) read.fail('minversion', `'minversion' requires pytest-${minversion}, and pytest-ts behaves as pytest-${PYTEST_COMPAT_VERSION}`);
  }
}

function resolveRunSettings(ini: IniOptions, args: Options): RunSettings {
  // pytest's get_log_level_for_setting: the first *non-empty* value of CLI, then ini, per setting.
  const firstSet = (...values: Array<[string | undefined, string]>): number | undefined => {
    const hit = values.find(([value]) => value);
    return hit === undefined ? undefined : logLevelNumber(hit[0]!, hit[1]);
  };
  const logFormat = args.logFormat || ini.logFormat || DEFAULT_LOG_FORMAT;
  const logDateFormat = args.logDateFormat || ini.logDateFormat || DEFAULT_LOG_DATE_FORMAT;
  if (args.timeout !== undefined && !(args.timeout >= 0)) {
    throw new UsageError(`argument --timeout: ${pyRepr(String(args.timeout))} is not a number of seconds >= 0`);
  }
  return {
    timeout: args.timeout ?? ini.timeout,
    isolation: args.isolation ?? (args.forked ? 'forked' : undefined) ?? ini.isolation ?? 'none',
    logCli: args.logCliLevel !== undefined || ini.logCli,
    logCliLevel: firstSet([args.logCliLevel ?? ini.logCliLevel, 'log_cli_level'], [args.logLevel ?? ini.logLevel, 'log_level']),
    logLevel: firstSet([args.logLevel ?? ini.logLevel, 'log_level']),
    logFormat,
    logDateFormat,
    logCliFormat: args.logCliFormat || ini.logCliFormat || logFormat,
    logCliDateFormat: args.logCliDateFormat || ini.logCliDateFormat || logDateFormat,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

function withOverrides(file: Map<string, ConfigEntry>, overrides: Array<[string, string]>): Map<string, ConfigEntry> {
  const entries = new Map(file);
  for (const [key, value] of overrides) entries.set(key, { value, mode: 'ini', origin: 'override' });
  return entries;
}

/** Parses an extra argument source on its own first, so a mistake in it names where it came from. */
function validateArgs(args: string[], extra: readonly ExtraOptionSpec[], cwd: string, source: string): void {
  try {
    parseArgsLenient(args, extra, { cwd });
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${error.message} (config source: ${source})`);
    throw error;
  }
}

const readers = new WeakMap<Config, IniReader>();

/**
 * argv (without the program name) -> Config, as pytest builds it. `cwd` is the invocation directory. Throws
 * UsageError (one line, for `ERROR: ...` and exit 4) for bad options, bad config files and bad values.
 */
export function loadConfig(
  argv: readonly string[], cwd: string, extraOptions: readonly ExtraOptionSpec[] = [], context: LoadConfigContext = {},
): Config {
  const env = context.env ?? process.env;
  const invocationDir = resolve(cwd);
  messageBase = invocationDir;
  const parseContext = { cwd: invocationDir };

  let envArgs: string[];
  try {
    envArgs = shlexSplit(env.PYTEST_ADDOPTS ?? '');
  } catch (error) {
    throw new UsageError(`PYTEST_ADDOPTS: ${pyRepr(env.PYTEST_ADDOPTS!)} cannot be split into arguments: ${(error as Error).message}`);
  }
  validateArgs(envArgs, extraOptions, invocationDir, 'via PYTEST_ADDOPTS');
  const early = parseArgsLenient([...envArgs, ...argv], extraOptions, parseContext).options;
  const setup = determineSetup(early, invocationDir, env);
  const inipath = setup.found?.inipath;
  const fileEntries = setup.found?.entries ?? new Map<string, ConfigEntry>();

  const earlyReader = new IniReader(withOverrides(fileEntries, early.overrideIni), inipath);
  const addopts = earlyReader.args('addopts') ?? [];
  if (addopts.length > 0) validateArgs(addopts, extraOptions, invocationDir, `via addopts config, ${earlyReader.where('addopts')}`);
  const fullArgv = [...addopts, ...envArgs, ...argv];
  const final = context.lenient
    ? parseArgsLenient(fullArgv, extraOptions, parseContext)
    : { options: parseArgs(fullArgv, extraOptions, parseContext), unknownFlags: [] };

  const entries = withOverrides(fileEntries, final.options.overrideIni);
  const reader = new IniReader(entries, inipath);
  const ini = { ...typeIniOptions(reader), addopts };
  checkMinversion(reader, ini.minversion);
  const known = (key: string): boolean => key in INI_TYPES || key in INI_ALIASES;
  const config: Config = {
    rootdir: setup.rootdir,
    inipath,
    inifileRelative: inipath === undefined ? undefined : relative(setup.rootdir, inipath) || '.',
    ignoredConfigFiles: setup.ignored,
    ini,
    iniLines: Object.fromEntries([...fileEntries].flatMap(([key, entry]) => (entry.line === undefined ? [] : [[key, entry.line]]))),
    unknownKeys: [...entries.keys()].filter((key) => !known(key)).sort(),
    iniRaw: Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value])),
    args: final.options,
    fullArgv,
    unknownFlags: final.unknownFlags,
    settings: resolveRunSettings(ini, final.options),
    invocationDir,
  };
  readers.set(config, reader);
  return config;
}

/**
 * pytest's check of unknown config keys (it runs after collection, so conftest-declared ini keys count as known).
 * Returns the warning lines; with strict_config (or --strict-config / strict) the first unknown key is a UsageError.
 */
export function unknownKeyWarnings(config: Config, extraKnownKeys: readonly string[] = []): string[] {
  const unknown = config.unknownKeys.filter((key) => !extraKnownKeys.includes(key));
  if (unknown.length > 0 && config.ini.strictConfig) throw new UsageError(`Unknown config option: ${unknown[0]}`);
  return unknown.map((key) => `PytestConfigWarning: Unknown config option: ${key}`);
}

/** A conftest-declared ini key, typed as pytest's getini would type it; `fallback` when absent. */
export function readIni(config: Config, key: string, type: IniType, fallback: unknown): unknown {
  const value = readers.get(config)?.get(key, type);
  return value === undefined ? fallback : value;
}

// ---------------------------------------------------------------------------------------------------------------
// Initial paths (pytest's _decide_args)

/** Every entry below `dir` (relative names joined to `prefix`), skipping dot-names and not following symlinks. */
function descendants(cwd: string, prefix: string, dirsOnly: boolean, visit: (path: string) => void): void {
  let entries;
  try { entries = readdirSync(resolve(cwd, prefix || '.'), { withFileTypes: true }); } catch { return; }
  for (const entry of entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix === '' ? entry.name : `${prefix.replace(/\/$/, '')}/${entry.name}`;
    if (entry.isDirectory()) { visit(path); descendants(cwd, path, dirsOnly, visit); }
    else if (!dirsOnly) visit(path);
  }
}

/** Python's glob.glob(pattern, recursive=True) relative to cwd, for testpaths. Wildcards skip dot-names. */
function globPaths(pattern: string, cwd: string): string[] {
  const segments = pattern.split('/');
  const results: string[] = [];
  const child = (prefix: string, name: string): string => (prefix === '' ? name : prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`);
  const walk = (prefix: string, index: number): void => {
    if (index === segments.length) {
      if (prefix && existsSync(resolve(cwd, prefix))) results.push(prefix);
      return;
    }
    const segment = segments[index]!;
    if (segment === '' && index === 0) return walk('/', 1);
    if (!/[*?[]/.test(segment)) return walk(child(prefix, segment), index + 1);
    if (!isDir(resolve(cwd, prefix || '.'))) return;
    if (segment === '**') {
      if (index < segments.length - 1) {
        walk(prefix, index + 1);
        descendants(cwd, prefix, true, (dir) => walk(dir, index + 1));
      } else {
        if (prefix) results.push(child(prefix, ''));
        descendants(cwd, prefix, false, (path) => results.push(path));
      }
      return;
    }
    const names = readdirSync(resolve(cwd, prefix || '.')).filter((name) => !name.startsWith('.') || segment.startsWith('.')).sort();
    for (const name of names) if (fnmatch(name, segment)) walk(child(prefix, name), index + 1);
  };
  walk('', 0);
  return [...new Set(results)];
}

export interface InitialPaths {
  paths: string[];
  source: 'args' | 'testpaths' | 'invocation_dir';
  /** pytest's PytestConfigWarning text when testpaths matched nothing. */
  warning?: string;
}

/** The paths to collect: the arguments; else testpaths (only when run from the rootdir); else the cwd. */
export function initialPaths(config: Config): InitialPaths {
  if (config.args.paths.length > 0) return { paths: config.args.paths, source: 'args' };
  if (config.invocationDir === config.rootdir && config.ini.testpaths.length > 0) {
    const found = config.ini.testpaths.flatMap((pattern) => globPaths(pattern, config.invocationDir).sort());
    if (found.length > 0) return { paths: found, source: 'testpaths' };
    return {
      paths: [config.invocationDir],
      source: 'invocation_dir',
      warning: 'PytestConfigWarning: No files were found in testpaths; consider removing or adjusting your testpaths configuration. Searching recursively from the current directory instead.',
    };
  }
  return { paths: [config.invocationDir], source: 'invocation_dir' };
}
