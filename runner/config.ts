// Building the Config of one run: reading addopts, PYTEST_ADDOPTS and -o around config discovery
// (config-discovery.ts) and value typing (config-ini.ts), merging the command line with the ini as pytest does,
// pytest's check of unknown keys, and the initial paths to collect (arguments, testpaths globbing, or the cwd). The
// types and helpers that moved to those modules are re-exported here, so importers keep importing from config.js.
//
// Bootstrapping, as pytest does it: PYTEST_ADDOPTS + argv are parsed leniently first (for -c, --rootdir, -o and
// the paths), the config is found, then the ini's addopts are prepended and everything is parsed again.
// Precedence of values: file < addopts -o < PYTEST_ADDOPTS -o < command-line -o (the last -o for a key wins).
// --strict-markers / --strict-config / --strict are `-o strict_*=true` (pytest 9). pytest 9.0.3 ignores -o and
// --strict-* inside the ini's own addopts (regression pytest-dev/pytest#14442, fixed by #14443); we apply them, as
// the fix does and as pytest 8 did.
import { existsSync, readdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  parseArgs, parseArgsLenient, type ExtraOptionSpec, type IsolationMode, type Options,
} from './args.js';
import { UsageError } from './exit-codes.js';
import { fnmatch } from './glob.js';
import { pyRepr, shlexSplit } from './ini.js';
import { setMessageBase, type ConfigEntry } from './config-entries.js';
import { determineSetup, isDir } from './config-discovery.js';
import {
  checkMinversion, DEFAULT_LOG_DATE_FORMAT, DEFAULT_LOG_FORMAT, INI_ALIASES, INI_TYPES, IniReader, logLevelNumber,
  typeIniOptions, type IniOptions, type IniType,
} from './config-ini.js';

export {
  logLevelNumber, PYTEST_COMPAT_VERSION, type ConsoleOutputStyle, type IniOptions, type IniType, type JunitFamily,
  type JunitLogging, type MarkerSpec,
} from './config-ini.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types

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
// Merging the command line and the ini

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
  setMessageBase(invocationDir);
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
  rejectCacheOptionsWithoutPlugin(argv, fullArgv, extraOptions, parseContext);
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

/** The options pytest's cacheprovider plugin adds (`--lfnf` may carry its value after `=`). */
const CACHEPROVIDER_OPTIONS = ['--lf', '--last-failed', '--ff', '--failed-first', '--nf', '--new-first', '--cache-clear', '--cache-show', '--lfnf', '--last-failed-no-failures'];

/**
 * `-p no:cacheprovider` on the command line itself blocks the plugin before its options exist, so pytest rejects
 * them (`unrecognized arguments: --lf`), wherever they were given. From addopts or PYTEST_ADDOPTS it comes too late
 * for that: the options stay and do nothing, which is what memory.ini's addopts relies on.
 */
function rejectCacheOptionsWithoutPlugin(argv: readonly string[], fullArgv: readonly string[], extra: readonly ExtraOptionSpec[], context: { cwd: string }): void {
  if (!parseArgsLenient(argv, extra, context).options.plugins.includes('no:cacheprovider')) return;
  const rejected = fullArgv.filter((arg) => CACHEPROVIDER_OPTIONS.includes(arg.split('=', 1)[0]!));
  if (rejected.length > 0) throw new UsageError(`pytest-ts: error: unrecognized arguments: ${rejected.join(' ')}`);
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
