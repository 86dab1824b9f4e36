// argv -> configuration -> session -> exit code. The one place where exit codes are decided and where a usage
// error turns into a single `ERROR: ...` line on stderr.

import { UsageError, ExitCode } from './exit-codes.js';
import { loadConfig, type Config } from './config.js';
import { helpText, type ExtraOptionSpec } from './args.js';
import { ConftestImportError } from './collect.js';
import { conftestOptions } from './conftest-options.js';
import { formatFailure } from './traceback.js';
import { formatMarkersList } from './terminal-format.js';
import { runConfiguredSession } from './orchestrate.js';
import { BUILTIN_MARKERS } from './markers.js';
import { VERSION } from './version.js';


function writeErr(text: string): void {
  process.stderr.write(text);
}

let pipeGuardInstalled = false;

/**
 * `pytest-ts ... | head` closes our stdout early. The rest of the output has nowhere to go, which is not an error
 * of the run: drop it instead of dying on an unhandled EPIPE.
 */
function ignoreClosedPipes(): void {
  if (pipeGuardInstalled) return;
  pipeGuardInstalled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

/** Runs pytest-ts with these arguments; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  ignoreClosedPipes();
  try {
    const config = await configure(argv, cwd);
    if (typeof config === 'number') return config;
    return await runConfiguredSession(config.config, config.extraOptions);
  } catch (error) {
    if (error instanceof UsageError) {
      // pytest's form: the message, then an empty line (`tw.line(f"ERROR: {msg}\n")`).
      writeErr(`ERROR: ${error.message}\n\n`);
      return ExitCode.USAGE_ERROR;
    }
    if (error instanceof ConftestImportError) {
      writeErr(`${error.message}\n${formatFailure(error.error, { tb: 'short', rootdir: cwd, verbosity: 0 }).text}\n`);
      return ExitCode.USAGE_ERROR;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    writeErr(text.split('\n').map((line) => `INTERNALERROR> ${line}`).join('\n') + '\n');
    return ExitCode.INTERNAL_ERROR;
  }
}

interface Configured {
  config: Config;
  extraOptions: ExtraOptionSpec[];
}

/**
 * Two loads, as pytest does: a lenient one finds the rootdir and the conftests (which may declare options such as
 * `--device`), then a strict one with those options. Informational flags (--help, --version, --markers) end here.
 */
async function configure(argv: readonly string[], cwd: string): Promise<Configured | number> {
  const first = loadConfig(argv, cwd, [], { lenient: true });
  if (first.args.version) {
    process.stdout.write(`pytest-ts ${VERSION}\n`);
    return ExitCode.OK;
  }
  // --help still works when a conftest cannot be imported; it just lists no conftest options then.
  const extraOptions = first.args.help ? await conftestOptions(first).catch(() => []) : await conftestOptions(first);
  if (first.args.help) {
    process.stdout.write(helpText(extraOptions, process.stdout.columns || 100));
    return ExitCode.OK;
  }
  const config = extraOptions.length > 0 || first.unknownFlags.length > 0 ? loadConfig(argv, cwd, extraOptions) : first;
  if (config.args.showMarkers) {
    const registered = config.ini.markers.map((m) => ({ name: m.signature, description: m.description }));
    process.stdout.write(formatMarkersList([...registered, ...BUILTIN_MARKERS]));
    return ExitCode.OK;
  }
  return { config, extraOptions };
}
