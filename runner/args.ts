// argv -> Options, with pytest's argparse behaviour (allow_abbrev=False, fromfile_prefix_chars='@').
//
// Why not yargs (DESIGN.md names it): importing yargs 18 costs ~93 ms of a ~150 ms start-up budget (7 runs on
// this machine: 88-100 ms, against 6 ms to import this parser with config.ts and ini.ts), and it needs four
// workarounds to act like argparse (pre-split of -rA, strictOptions, a NaN check, boolean negation off). The rules
// below are argparse's own, written down once, and cost nothing to load.
//
// How an argument is classified (argparse's _parse_optional):
//   ''  '-'  or anything not starting with '-'        -> a path (positional)
//   a known option string exactly ('-k', '--tb')      -> that option; its value is the next argument
//   '--name=value', '-k=value'                        -> option with an explicit value
//   '-kVALUE' (known short option + rest)             -> option with an explicit value; for a flag ('-vx') the
//                                                        rest is a cluster of more short options
//   '-1', '-1.5', '-.5' (a negative number)           -> a path / a value
//   contains a space ('-gpu or cuda')                 -> a path / a value
//   anything else starting with '-'                   -> an unknown option (lenient: kept; strict: an error)
// An option that needs a value takes the next argument only if that argument is classified as a path/value, so
// `-k -gpu` is "expected one argument" while `-k -1` and `-k "-gpu or cuda"` are values.
//
// Decisions where pytest 9.0.3 (on Python 3.11) is not a model to copy:
//   - Long options are never abbreviated (argparse allow_abbrev=False): `--collect-o` is unrecognized, as in pytest.
//   - `--` ends options: every later argument is a path, a second `--` included. (pytest's intermixed parse on
//     Python 3.11 drops `--` inconsistently: `-- -x` sets -x, `a.py -- -x` makes '-x' a path.)
//   - `@file` reads one argument per line, recursively, relative to the working directory, like argparse; nesting
//     deeper than 20 files is an error instead of Python's RecursionError.
//   - Errors are thrown as UsageError whose message is `pytest-ts: error: <argparse's wording>` (the CLI prints
//     `ERROR: ` in front), except the two that pytest raises itself without the prefix: the -o syntax and
//     `--junitxml` naming a directory.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './exit-codes.js';
import { parsePythonFloat, parsePythonInt, pyRepr, shownRaw, splitPythonLines } from './ini.js';

export type TracebackStyle = 'auto' | 'long' | 'short' | 'line' | 'native' | 'no';
export type CaptureMethod = 'fd' | 'sys' | 'no' | 'tee-sys';
export type IsolationMode = 'none' | 'forked' | 'worker';
export type ExtraValue = string | boolean | number | string[] | undefined;

export interface Options {
  /** Positional arguments: files, directories, node ids, unchanged. */
  paths: string[];
  /** -v count minus -q count, in order; --verbosity=N sets it to N at that point (pytest's dest `verbose`). */
  verbose: number;
  /** True when -x was the last of -x / --maxfail (they share pytest's dest `maxfail`). */
  exitfirst: boolean;
  /** 0 = no limit. -x sets 1. */
  maxfail: number;
  keyword?: string;
  markexpr?: string;
  deselect: string[];
  collectOnly: boolean;
  tb: TracebackStyle;
  /** -s is --capture=no; the last of the two wins. */
  capture: CaptureMethod;
  reportChars: string;
  color: 'yes' | 'no' | 'auto';
  junitxml?: string;
  junitprefix?: string;
  /** -o pairs in order, plus the pairs --strict-config / --strict-markers / --strict add (pytest 9 does the same). */
  overrideIni: Array<[string, string]>;
  configFile?: string;
  rootdir?: string;
  plugins: string[];
  strictMarkers: boolean;
  strictConfig: boolean;
  strict: boolean;
  disableWarnings: boolean;
  pythonWarnings: string[];
  /** --timeout seconds (pytest-timeout's option); 0 = no timeout. */
  timeout?: number;
  durations?: number;
  /** --durations-min; when not given, 0.005 below -vv and 0 from -vv on (pytest's rule). */
  durationsMin: number;
  /** Whether --durations-min was given: pytest's "Use -vv" hint is only printed when it was not. */
  durationsMinGiven: boolean;
  logCliLevel?: string;
  logLevel?: string;
  logCliFormat?: string;
  logCliDateFormat?: string;
  logFormat?: string;
  logDateFormat?: string;
  lf: boolean;
  ff: boolean;
  nf: boolean;
  cacheClear: boolean;
  lfnf: 'all' | 'none';
  showMarkers: boolean;
  showFixtures: boolean;
  help: boolean;
  /** -V / --version (pytest counts it, and twice also lists plugins; pytest-ts has none to list). */
  version: boolean;
  noHeader: boolean;
  noSummary: boolean;
  /** --setup-show: print each fixture's SETUP and TEARDOWN and each test's fixtures as the run goes. */
  setupShow: boolean;
  showCapture: 'no' | 'stdout' | 'stderr' | 'log' | 'all';
  /** --forked (pytest-forked's flag). */
  forked: boolean;
  /** --isolation=MODE (ours). */
  isolation?: IsolationMode;
  continueOnCollectionErrors: boolean;
  /** Values of conftest-declared options, keyed by the flag without its leading dashes ('--device' -> 'device'). */
  extra: Record<string, ExtraValue>;
}

/** An option a conftest declares (pytest's parser.addoption). */
export interface ExtraOptionSpec {
  /** '--device'; a long option, or '-' and one upper-case letter (pytest reserves lower-case short options). */
  flag: string;
  /** 'boolean' is a store_true flag; 'number' is parsed like Python's float(). */
  type: 'string' | 'boolean' | 'number';
  choices?: string[];
  default?: unknown;
  help: string;
}

export interface ArgsContext {
  /** Directory that `@file` arguments and `--junitxml` are resolved against. Default: process.cwd(). */
  cwd?: string;
}

export interface LenientParse {
  options: Options;
  /** Option-like arguments no option matched, in order (pytest's parse_known_args extras). */
  unknownFlags: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// The option table. `names` are in pytest's registration order, because argparse's messages join them with '/'.

type HelpGroup = 'general' | 'reporting' | 'pytest-warnings' | 'collection' | 'configuration' | 'logging' | 'pytest-ts' | 'Custom options';

interface ParseState {
  options: Options;
  badOverride?: string;
}

interface OptionDef {
  names: readonly string[];
  takesValue: boolean;
  convert?: 'int' | 'float';
  choices?: readonly string[];
  /** How --help shows it, e.g. '--maxfail=num'. */
  usage: string;
  group: HelpGroup;
  help: string;
  apply(state: ParseState, value: string | number | undefined): void;
}

const str = (value: string | number | undefined): string => String(value);

function flag(names: string[], group: HelpGroup, help: string, set: (o: Options) => void, usage = names.join(', ')): OptionDef {
  return { names, takesValue: false, usage, group, help, apply: (s) => set(s.options) };
}

function valued(
  names: string[], usage: string, group: HelpGroup, help: string,
  set: (o: Options, value: string | number | undefined) => void,
  extra: Partial<Pick<OptionDef, 'convert' | 'choices'>> = {},
): OptionDef {
  return { names, takesValue: true, usage, group, help, apply: (s, v) => set(s.options, v), ...extra };
}

/** --strict-config and friends also add an ini override, exactly as pytest 9's OverrideIniAction does. */
function strictFlag(name: string, iniKey: 'strict_config' | 'strict_markers' | 'strict', field: 'strictConfig' | 'strictMarkers' | 'strict'): OptionDef {
  return flag([name], 'general', `Enables the ${iniKey} option`, (o) => {
    o[field] = true;
    o.overrideIni.push([iniKey, 'true']);
  });
}

const TB_STYLES = ['auto', 'long', 'short', 'no', 'line', 'native'] as const;

const BUILTIN_OPTIONS: readonly OptionDef[] = [
  valued(['-k'], '-k EXPRESSION', 'general', 'Only run tests whose names match the expression (substring, case-insensitive; and/or/not).', (o, v) => { o.keyword = str(v); }),
  valued(['-m'], '-m MARKEXPR', 'general', "Only run tests whose markers match the expression, e.g. -m 'gpu and not slow'.", (o, v) => { o.markexpr = str(v); }),
  flag(['--markers'], 'general', 'Show markers (built-in and per-project ones).', (o) => { o.showMarkers = true; }),
  flag(['-x', '--exitfirst'], 'general', 'Exit instantly on first error or failed test.', (o) => { o.maxfail = 1; o.exitfirst = true; }),
  valued(['--maxfail'], '--maxfail=num', 'general', 'Exit after first num failures or errors.', (o, v) => { o.maxfail = v as number; o.exitfirst = false; }, { convert: 'int' }),
  strictFlag('--strict-config', 'strict_config', 'strictConfig'),
  strictFlag('--strict-markers', 'strict_markers', 'strictMarkers'),
  strictFlag('--strict', 'strict', 'strict'),
  flag(['--setup-show', '--setupshow'], 'general', 'Show setup of fixtures while executing tests.', (o) => { o.setupShow = true; }),
  flag(['--fixtures', '--funcargs'], 'general', 'Show available fixtures.', (o) => { o.showFixtures = true; }),
  valued(['--capture'], '--capture=method', 'general', 'Per-test capturing method: one of fd|sys|no|tee-sys.', (o, v) => { o.capture = v as CaptureMethod; }, { choices: ['fd', 'sys', 'no', 'tee-sys'] }),
  flag(['-s'], 'general', 'Shortcut for --capture=no.', (o) => { o.capture = 'no'; }),
  flag(['--lf', '--last-failed'], 'general', 'Rerun only the tests that failed at the last run (or all if none failed).', (o) => { o.lf = true; }),
  flag(['--ff', '--failed-first'], 'general', 'Run all tests, but run the last failures first.', (o) => { o.ff = true; }),
  flag(['--nf', '--new-first'], 'general', 'Run tests from new files first.', (o) => { o.nf = true; }),
  flag(['--cache-clear'], 'general', 'Remove all cache contents at start of test run.', (o) => { o.cacheClear = true; }),
  valued(['--lfnf', '--last-failed-no-failures'], '--lfnf={all,none}, --last-failed-no-failures={all,none}', 'general', 'With --lf, what to run when there are no known failures.', (o, v) => { o.lfnf = v as 'all' | 'none'; }, { choices: ['all', 'none'] }),

  valued(['--durations'], '--durations=N', 'reporting', 'Show N slowest setup/test durations (N=0 for all).', (o, v) => { o.durations = v as number; }, { convert: 'int' }),
  { ...valued(['--durations-min'], '--durations-min=N', 'reporting', 'Minimal duration in seconds for inclusion in slowest list. Default: 0.005 (or 0.0 if -vv is given).', () => {}, { convert: 'float' }),
    apply: (s, v) => { s.options.durationsMin = v as number; s.options.durationsMinGiven = true; } },
  flag(['-v', '--verbose'], 'reporting', 'Increase verbosity.', (o) => { o.verbose++; }),
  flag(['--no-header'], 'reporting', 'Disable header.', (o) => { o.noHeader = true; }),
  flag(['--no-summary'], 'reporting', 'Disable summary.', (o) => { o.noSummary = true; }),
  flag(['-q', '--quiet'], 'reporting', 'Decrease verbosity.', (o) => { o.verbose--; }),
  valued(['--verbosity'], '--verbosity=VERBOSE', 'reporting', 'Set verbosity. Default: 0.', (o, v) => { o.verbose = v as number; }, { convert: 'int' }),
  valued(['-r'], '-r chars', 'reporting', "Show extra test summary info: (f)ailed, (E)rror, (s)kipped, (x)failed, (X)passed, (p)assed, (P)assed with output, (a)ll except passed, (A)ll, (w)arnings, (N) reset. Default: 'fE'.", (o, v) => { o.reportChars = str(v); }),
  flag(['--disable-warnings', '--disable-pytest-warnings'], 'reporting', 'Disable warnings summary.', (o) => { o.disableWarnings = true; }),
  valued(['--tb'], '--tb=style', 'reporting', 'Traceback print mode (auto/long/short/line/native/no).', (o, v) => { o.tb = v as TracebackStyle; }, { choices: TB_STYLES }),
  valued(['--show-capture'], '--show-capture={no,stdout,stderr,log,all}', 'reporting', 'How captured output is shown on failed tests. Default: all.', (o, v) => { o.showCapture = v as Options['showCapture']; }, { choices: ['no', 'stdout', 'stderr', 'log', 'all'] }),
  valued(['--color'], '--color=color', 'reporting', 'Color terminal output (yes/no/auto).', (o, v) => { o.color = v as Options['color']; }, { choices: ['yes', 'no', 'auto'] }),
  valued(['--junitxml', '--junit-xml'], '--junit-xml=path', 'reporting', 'Create junit-xml style report file at given path.', (o, v) => { o.junitxml = str(v); }),
  valued(['--junitprefix', '--junit-prefix'], '--junit-prefix=str', 'reporting', 'Prepend prefix to classnames in junit-xml output.', (o, v) => { o.junitprefix = str(v); }),

  valued(['-W', '--pythonwarnings'], '-W PYTHONWARNINGS, --pythonwarnings=PYTHONWARNINGS', 'pytest-warnings', 'Set which warnings to report.', (o, v) => { o.pythonWarnings.push(str(v)); }),

  flag(['--collectonly', '--collect-only', '--co'], 'collection', "Only collect tests, don't execute them.", (o) => { o.collectOnly = true; }, '--collect-only, --co'),
  valued(['--deselect'], '--deselect=nodeid_prefix', 'collection', 'Deselect item (via node id prefix) during collection (multi-allowed).', (o, v) => { o.deselect.push(str(v)); }),
  flag(['--continue-on-collection-errors'], 'collection', 'Force test execution even if collection errors occur.', (o) => { o.continueOnCollectionErrors = true; }),

  valued(['-c', '--config-file'], '-c FILE, --config-file=FILE', 'configuration', 'Load configuration from FILE instead of looking for one.', (o, v) => { o.configFile = str(v); }),
  valued(['--rootdir'], '--rootdir=ROOTDIR', 'configuration', 'Define root directory for tests (may use $VARS).', (o, v) => { o.rootdir = str(v); }),
  flag(['-V', '--version'], 'configuration', 'Display the pytest-ts version.', (o) => { o.version = true; }),
  flag(['-h', '--help'], 'configuration', 'Show help message and configuration info.', (o) => { o.help = true; }),
  valued(['-p'], '-p name', 'configuration', 'Plugin switch (multi-allowed); `no:NAME` disables a built-in plugin, e.g. -p no:cacheprovider.', (o, v) => { o.plugins.push(str(v)); }),
  { ...valued(['-o', '--override-ini'], '-o OVERRIDE_INI, --override-ini=OVERRIDE_INI', 'configuration', 'Override configuration option with "option=value" style, e.g. -o xfail_strict=True.', () => {}),
    apply: (s, v) => {
      const text = str(v);
      const eq = text.indexOf('=');
      if (eq < 0) s.badOverride ??= text;
      else s.options.overrideIni.push([text.slice(0, eq), text.slice(eq + 1)]);
    } },

  valued(['--log-level'], '--log-level=LEVEL', 'logging', 'Level of messages to catch/display.', (o, v) => { o.logLevel = str(v); }),
  valued(['--log-format'], '--log-format=LOG_FORMAT', 'logging', 'Log format used by the logging module.', (o, v) => { o.logFormat = str(v); }),
  valued(['--log-date-format'], '--log-date-format=LOG_DATE_FORMAT', 'logging', 'Log date format used by the logging module.', (o, v) => { o.logDateFormat = str(v); }),
  valued(['--log-cli-level'], '--log-cli-level=LOG_CLI_LEVEL', 'logging', 'CLI logging level.', (o, v) => { o.logCliLevel = str(v); }),
  valued(['--log-cli-format'], '--log-cli-format=LOG_CLI_FORMAT', 'logging', 'Log format for live logs.', (o, v) => { o.logCliFormat = str(v); }),
  valued(['--log-cli-date-format'], '--log-cli-date-format=LOG_CLI_DATE_FORMAT', 'logging', 'Log date format for live logs.', (o, v) => { o.logCliDateFormat = str(v); }),

  valued(['--timeout'], '--timeout=TIMEOUT', 'pytest-ts', 'Per-test timeout in seconds (0 = none); overrides the ini timeout.', (o, v) => { o.timeout = v as number; }, { convert: 'float' }),
  flag(['--forked'], 'pytest-ts', 'Run each test in a forked child process (same as --isolation=forked).', (o) => { o.forked = true; }),
  valued(['--isolation'], '--isolation={none,forked,worker}', 'pytest-ts', 'Where tests run: in-process, a child per test, or a reused worker.', (o, v) => { o.isolation = v as IsolationMode; }, { choices: ['none', 'forked', 'worker'] }),
];

const BUILTIN_BY_NAME = new Map<string, OptionDef>(BUILTIN_OPTIONS.flatMap((def) => def.names.map((name) => [name, def] as const)));

export function defaultOptions(): Options {
  return {
    paths: [], verbose: 0, exitfirst: false, maxfail: 0, deselect: [], collectOnly: false, tb: 'auto', capture: 'fd',
    reportChars: 'fE', color: 'auto', overrideIni: [], plugins: [], strictMarkers: false, strictConfig: false,
    strict: false, disableWarnings: false, pythonWarnings: [], durationsMin: 0.005, durationsMinGiven: false, lf: false, ff: false, nf: false,
    cacheClear: false, lfnf: 'all', showMarkers: false, showFixtures: false, help: false, version: false, noHeader: false,
    noSummary: false, setupShow: false, showCapture: 'all', forked: false, continueOnCollectionErrors: false, extra: {},
  };
}

const EXTRA_FLAG = /^(--[A-Za-z0-9][A-Za-z0-9_-]*|-[A-Z])$/;

function extraDefs(extra: readonly ExtraOptionSpec[]): Map<string, OptionDef> {
  const defs = new Map(BUILTIN_BY_NAME);
  for (const spec of extra) {
    if (!EXTRA_FLAG.test(spec.flag)) {
      throw new UsageError(`option ${pyRepr(spec.flag)} must be a long option ('--name') or '-' and an upper-case letter`);
    }
    if (defs.has(spec.flag)) throw new UsageError(`argument ${spec.flag}: conflicting option string: ${spec.flag}`);
    const key = spec.flag.replace(/^-+/, '');
    const isFlag = spec.type === 'boolean';
    const metavar = key.toUpperCase().replace(/-/g, '_');
    const choices = spec.choices ? `{${spec.choices.join(',')}}` : metavar;
    defs.set(spec.flag, {
      names: [spec.flag],
      takesValue: !isFlag,
      convert: spec.type === 'number' ? 'float' : undefined,
      choices: spec.choices,
      usage: isFlag ? spec.flag : `${spec.flag}=${choices}`,
      group: 'Custom options',
      help: spec.help,
      apply: (s, v) => { s.options.extra[key] = isFlag ? true : v; },
    });
  }
  return defs;
}

// ---------------------------------------------------------------------------------------------------------------
// @file expansion

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  ENAMETOOLONG: [36, 'File name too long'],
  ELOOP: [40, 'Too many levels of symbolic links'],
};

const MAX_ARGFILE_DEPTH = 20;

function expandArgFiles(args: readonly string[], cwd: string, depth = 0): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (!arg.startsWith('@')) { out.push(arg); continue; }
    const name = arg.slice(1);
    if (depth >= MAX_ARGFILE_DEPTH) throw argError(`argument files nest more than ${MAX_ARGFILE_DEPTH} deep at ${pyRepr(arg)}`);
    if (name.includes('\0')) throw argError('embedded null byte');
    let text: string;
    try {
      // Python's open('') is ENOENT; resolve(cwd, '') would be the directory itself.
      if (name === '') throw Object.assign(new Error('empty name'), { code: 'ENOENT' });
      text = readFileSync(resolve(cwd, name), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const known = ERRNO[code];
      if (known) throw argError(`[Errno ${known[0]}] ${known[1]}: ${pyRepr(name)}`);
      throw argError(`cannot read argument file ${pyRepr(name)} (${code || String(error)})`);
    }
    out.push(...expandArgFiles(splitPythonLines(text), cwd, depth + 1));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The parser

const argError = (detail: string): UsageError => new UsageError(`pytest-ts: error: ${detail}`);
const actionName = (def: OptionDef): string => def.names.join('/');
const NEGATIVE_NUMBER = /^-\p{Nd}+$|^-\p{Nd}*\.\p{Nd}+$/u;

type Classified =
  | { kind: 'positional' }
  | { kind: 'unknown' }
  | { kind: 'option'; def: OptionDef; optionString: string; explicit?: string };

function classify(arg: string, defs: Map<string, OptionDef>): Classified {
  if (!arg.startsWith('-') || arg === '-') return { kind: 'positional' };
  const exact = defs.get(arg);
  if (exact) return { kind: 'option', def: exact, optionString: arg };
  const eq = arg.indexOf('=');
  if (eq >= 0) {
    const named = defs.get(arg.slice(0, eq));
    if (named) return { kind: 'option', def: named, optionString: arg.slice(0, eq), explicit: arg.slice(eq + 1) };
  }
  if (arg[1] !== '-') {
    const short = defs.get(arg.slice(0, 2));
    if (short) return { kind: 'option', def: short, optionString: arg.slice(0, 2), explicit: arg.slice(2) };
  }
  if (NEGATIVE_NUMBER.test(arg) || arg.includes(' ')) return { kind: 'positional' };
  return { kind: 'unknown' };
}

function convertValue(def: OptionDef, raw: string): string | number {
  let value: string | number = raw;
  if (def.convert === 'int' || def.convert === 'float') {
    const parsed = def.convert === 'int' ? parsePythonInt(raw) : parsePythonFloat(raw);
    if (parsed === undefined) throw argError(`argument ${actionName(def)}: invalid ${def.convert} value: ${pyRepr(raw)}`);
    value = parsed;
  }
  if (def.choices && !def.choices.includes(String(value))) {
    const choices = def.choices.map(pyRepr).join(', ');
    throw argError(`argument ${actionName(def)}: invalid choice: ${pyRepr(raw)} (choose from ${choices})`);
  }
  return value;
}

function parse(argv: readonly string[], extra: readonly ExtraOptionSpec[], context: ArgsContext, strict: boolean): LenientParse {
  const cwd = context.cwd ?? process.cwd();
  const defs = extra.length > 0 ? extraDefs(extra) : BUILTIN_BY_NAME;
  const args = expandArgFiles(argv, cwd);
  const state: ParseState = { options: defaultOptions() };
  for (const spec of extra) {
    const fallback = spec.type === 'boolean' ? false : undefined;
    state.options.extra[spec.flag.replace(/^-+/, '')] = (spec.default ?? fallback) as ExtraValue;
  }
  const unknownFlags: string[] = [];
  const endOfOptions = args.indexOf('--');
  // An option's value is the next argument when that one reads as a path/value and is not `--` or beyond it.
  const isValue = (index: number): boolean =>
    index < args.length && (endOfOptions < 0 || index < endOfOptions) && classify(args[index]!, defs).kind === 'positional';

  let index = 0;
  while (index < args.length) {
    if (index === endOfOptions) {
      state.options.paths.push(...args.slice(index + 1));
      break;
    }
    const arg = args[index]!;
    const found = classify(arg, defs);
    if (found.kind === 'positional') { state.options.paths.push(arg); index++; continue; }
    if (found.kind === 'unknown') { unknownFlags.push(arg); index++; continue; }
    let { def, optionString, explicit } = found;
    index++;
    // argparse's consume_optional: a flag with attached text is a cluster of short flags ('-vx', '-vkEXPR').
    for (;;) {
      if (explicit === undefined) {
        if (!def.takesValue) { def.apply(state, undefined); break; }
        if (!isValue(index)) throw argError(`argument ${actionName(def)}: expected one argument`);
        def.apply(state, convertValue(def, args[index]!));
        index++;
        break;
      }
      if (def.takesValue) { def.apply(state, convertValue(def, explicit)); break; }
      if (optionString[1] === '-' || explicit === '') {
        throw argError(`argument ${actionName(def)}: ignored explicit argument ${pyRepr(explicit)}`);
      }
      const next = defs.get('-' + explicit[0]);
      if (!next) throw argError(`argument ${actionName(def)}: ignored explicit argument ${pyRepr(explicit)}`);
      def.apply(state, undefined);
      def = next;
      optionString = '-' + explicit[0];
      explicit = explicit.slice(1) || undefined;
    }
    // pytest's help action stops the final parse where it stands: later mistakes are not reported.
    if (strict && state.options.help) break;
  }

  const { options } = state;
  if (state.badOverride !== undefined) {
    throw new UsageError(`-o/--override-ini expects option=value style (got: ${pyRepr(state.badOverride)}).`);
  }
  if (options.junitxml !== undefined && isDirectory(resolve(cwd, options.junitxml))) {
    throw new UsageError(`--junitxml must be a filename, given: ${shownRaw(options.junitxml)}`);
  }
  if (strict && unknownFlags.length > 0 && !options.help) {
    throw argError(`unrecognized arguments: ${unknownFlags.map(shownRaw).join(' ')}`);
  }
  if (!options.durationsMinGiven) options.durationsMin = options.verbose >= 2 ? 0 : 0.005;
  return { options, unknownFlags };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The strict parse: unknown options are an error (`unrecognized arguments: ...`). Throws UsageError. */
export function parseArgs(argv: readonly string[], extra: readonly ExtraOptionSpec[] = [], context: ArgsContext = {}): Options {
  return parse(argv, extra, context, true).options;
}

/**
 * The first of pytest's two parses: options not known yet (a conftest's `--device`) are set aside, not refused, so
 * `-c`, `--rootdir`, `-o`, `-p` and the paths can be read before conftests are found. Malformed known options still
 * throw UsageError, as argparse's parse_known_args does. A value after an unknown option counts as a path here,
 * also as in pytest.
 */
export function parseArgsLenient(argv: readonly string[], extra: readonly ExtraOptionSpec[] = [], context: ArgsContext = {}): LenientParse {
  return parse(argv, extra, context, false);
}

// ---------------------------------------------------------------------------------------------------------------
// --help

const GROUP_ORDER: HelpGroup[] = ['general', 'reporting', 'pytest-warnings', 'collection', 'configuration', 'logging', 'pytest-ts', 'Custom options'];

/** The options part of `pytest-ts --help`, laid out like argparse's (24-column invocation, wrapped help). */
export function helpText(extra: readonly ExtraOptionSpec[] = [], width = 100): string {
  const defs = [...new Set(extraDefs(extra).values())];
  const lines = ['usage: pytest-ts [options] [file_or_dir] [file_or_dir] [...]', '', 'positional arguments:', '  file_or_dir'];
  for (const group of GROUP_ORDER) {
    const members = defs.filter((def) => def.group === group);
    if (members.length === 0) continue;
    lines.push('', `${group}:`);
    for (const def of members) lines.push(...formatHelpEntry(def.usage, def.help, width));
  }
  return lines.join('\n') + '\n';
}

function formatHelpEntry(invocation: string, help: string, width: number): string[] {
  const indent = 24;
  const wrapped = wrapWords(help, Math.max(20, width - indent));
  const head = `  ${invocation}`;
  if (head.length <= indent - 2) {
    return [head.padEnd(indent) + (wrapped[0] ?? ''), ...wrapped.slice(1).map((line) => ' '.repeat(indent) + line)];
  }
  return [head, ...wrapped.map((line) => ' '.repeat(indent) + line)];
}

function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current && current.length + 1 + word.length > width) { lines.push(current); current = word; }
    else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}
