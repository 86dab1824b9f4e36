// Typing the [pytest] values: every key pytest-ts knows with pytest's type for it (INI_TYPES); IniReader, which
// turns one load's raw entries into typed values the way pytest's getini does for ini strings and for native TOML;
// typeIniOptions, which builds IniOptions with pytest's defaults; and the minversion check. A bad value fails with
// one line naming where it came from: `FILE:LINE: key: why`, or `-o/--override-ini: key: why`.
import type { IsolationMode } from './args.js';
import { UsageError } from './exit-codes.js';
import { parsePythonFloat, parsePythonInt, pyRepr, pyStrip, shlexSplit } from './ini.js';
import { pyReprValue, pyStr, pyTypeName, shown, type ConfigEntry } from './config-entries.js';

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

// ---------------------------------------------------------------------------------------------------------------
// Typing the values

export type IniType = 'string' | 'bool' | 'args' | 'linelist' | 'float' | 'int';

/** Every key pytest-ts knows, with pytest's type for it. Anything else is an unknown key. */
export const INI_TYPES: Record<string, IniType> = {
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
export const INI_ALIASES: Record<string, string> = { xfail_strict: 'strict_xfail' };

const TRUE_WORDS = ['y', 'yes', 't', 'true', 'on', '1'];
const FALSE_WORDS = ['n', 'no', 'f', 'false', 'off', '0'];

const LOG_LEVELS: Record<string, number> = { CRITICAL: 50, FATAL: 50, ERROR: 40, WARN: 30, WARNING: 30, INFO: 20, DEBUG: 10, NOTSET: 0 };
export const DEFAULT_LOG_FORMAT = '%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s';
export const DEFAULT_LOG_DATE_FORMAT = '%H:%M:%S';
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
export class IniReader {
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

export function typeIniOptions(read: IniReader): IniOptions {
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

export function checkMinversion(read: IniReader, minversion: string | undefined): void {
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
