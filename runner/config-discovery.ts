// Finding the config file and the rootdir as pytest 9 does (_pytest/config/findpaths.py), and reading the raw
// entries of the file found. loadConfig (config.ts) calls determineSetup once per load; typing the entries it
// returns is config-ini.ts's job.
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
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Options } from './args.js';
import { UsageError } from './exit-codes.js';
import { PACKAGE_ROOT } from './paths.js';
import { IniError, parseIni, pyRepr, shownRaw } from './ini.js';
import { pyStr, shown, type ConfigEntry } from './config-entries.js';

export interface FoundConfig {
  inipath: string;
  entries: Map<string, ConfigEntry>;
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

export function isDir(path: string): boolean {
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

export interface Setup {
  rootdir: string;
  found?: FoundConfig;
  ignored: string[];
}

/** pytest's determine_setup. */
export function determineSetup(options: Options, cwd: string, env: Record<string, string | undefined>): Setup {
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
