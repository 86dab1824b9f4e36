// A configured session from start to exit code: reporters, collection, selection, the fixture-graph check, the run
// (in-process or isolated), interrupts, and the end of the session. Exit codes are decided here and only here.

import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { ExitCode, UsageError } from './exit-codes.js';
import type { Config } from './config.js';
import { unknownKeyWarnings, initialPaths } from './config.js';
import type { ExtraOptionSpec } from './args.js';
import { ReporterBus } from './bus.js';
import { compileKeywordOption, compileMarkOption, ExpressionError, formatExpressionError, type Expression } from './expression.js';
import { NodeIdNotFound } from './collection-args.js';
import { selectItems } from './select.js';
import { Session, type SessionSettings } from './session.js';
import { collectOptionsFrom } from './collect.js';
import { TerminalReporter } from './terminal.js';
import { resolveColor, runningOnCI } from './terminal-format.js';
import { checkJunitPath, JunitXmlReporter, resolveJunitPath } from './junitxml.js';
import { crashMessage, formatFailure } from './traceback.js';
import { importFailureKind } from './import-errors.js';
import { unknownMarkMessage, unknownMarkUses } from './unknown-marks.js';
import { WarningFilters } from './warning-filters.js';
import type { CollectReport, SessionFinishInfo, WarningInfo } from './reports.js';
import { Interrupted, type ItemPlan } from './run.js';
import { IsolatedExecutor } from './isolation.js';
import { buildLogFormatter, type WorkerSettings } from './worker-protocol.js';
import { unregisteredMark } from './markers.js';
import { CacheProvider } from './cacheprovider.js';
import type { CollectionError, Item } from './nodes.js';
import { VERSION } from './version.js';

/** The executor of the selected items: the in-process run loop or isolated worker processes. */
interface Executor {
  run(plans: readonly ItemPlan[]): Promise<void>;
  interrupt(reason: Interrupted): void;
  readonly failures: number;
  readonly stopReason: string | undefined;
  readonly interruptedBy: Interrupted | undefined;
}

export async function runConfiguredSession(config: Config, extraOptions: readonly ExtraOptionSpec[]): Promise<number> {
  const startTime = Date.now();
  const args = config.args;
  const color = resolveColor(args.color, process.env, process.stdout.isTTY === true);
  const logCliLevel = config.settings.logCliLevel ?? 30;
  const workerSettings = buildWorkerSettings(config, extraOptions, logCliLevel);

  // Fail fast on what pytest only finds out at the end (an unwritable report path).
  if (args.junitxml) checkJunitPath(args.junitxml);
  // Filters are checked before anything runs: a bad one is a usage error, as in pytest.
  const warningFilters = new WarningFilters(config.ini.filterwarnings, args.pythonWarnings);
  // `-p no:warnings` turns pytest's warnings plugin off: nothing is recorded, shown or counted.
  const warningsOff = args.plugins.includes('no:warnings');

  const bus = new ReporterBus();
  /** Every warning pytest-ts issues passes the filters (and `-p no:warnings`) first. */
  const warn = async (warning: WarningInfo) => {
    if (warningsOff || warningFilters.actionFor(warning.category, warning.message) === 'ignore') return;
    await bus.emit('warning', warning);
  };
  const session = new Session(
    {
      ...workerSettings,
      run: { ...workerSettings.run, formatLogRecord: buildLogFormatter(workerSettings.logFormat, workerSettings.logDateFormat) },
      onLogRecord: config.settings.logCli ? (record) => void (record.level >= logCliLevel && bus.emit('logRecord', record)) : undefined,
      requestConfig: {
        rootdir: config.rootdir,
        inipath: config.inipath,
        getoption: (name) => workerSettings.requestConfig.options[name],
        getini: (name) => workerSettings.requestConfig.ini[name],
      },
    } satisfies SessionSettings,
    bus,
  );
  const terminal = new TerminalReporter(
    {
      verbosity: args.verbose,
      reportChars: args.reportChars,
      color,
      width: Number(process.env.COLUMNS) || process.stdout.columns || 80,
      collectOnly: args.collectOnly,
      noHeader: args.noHeader,
      noSummary: args.noSummary,
      showCapture: args.showCapture,
      disableWarnings: args.disableWarnings,
      durations: args.durations,
      // Left undefined when not given, so that the summary adds pytest's "Use -vv" hint.
      durationsMin: args.durationsMinGiven ? args.durationsMin : undefined,
      consoleOutputStyle: config.ini.consoleOutputStyle === 'count' || config.ini.consoleOutputStyle === 'classic' ? config.ini.consoleOutputStyle : 'progress',
      logCli: { enabled: config.settings.logCli, format: config.settings.logCliFormat, dateFormat: config.settings.logCliDateFormat },
      rootdir: config.rootdir,
      tb: args.tb,
      capture: args.capture,
      invocationDir: config.invocationDir,
      ci: runningOnCI(process.env),
      setupShow: args.setupShow,
      junitxml: args.junitxml === undefined ? undefined : resolveJunitPath(args.junitxml),
    },
    session.capture.rawStdoutWrite,
  );
  bus.add(terminal);
  const junit = args.junitxml
    ? new JunitXmlReporter({
        path: args.junitxml,
        suiteName: config.ini.junitSuiteName,
        family: config.ini.junitFamily === 'xunit2' ? 'xunit2' : 'xunit1',
        logging: config.ini.junitLogging,
        logPassingTests: config.ini.junitLogPassingTests,
        durationReport: config.ini.junitDurationReport,
        prefix: args.junitprefix,
        hostname: hostname(),
      })
    : undefined;
  if (junit) bus.add(junit);
  const cache = args.plugins.includes('no:cacheprovider') ? undefined : new CacheProvider(config.rootdir, config.ini.cacheDir, args);
  if (cache) bus.add(cache);

  const finish = async (exitCode: number, interrupted?: SessionFinishInfo['interrupted'], suiteProperties: Array<[string, string]> = []) => {
    const info: SessionFinishInfo = { exitCode, durationS: (Date.now() - startTime) / 1000, interrupted, suiteProperties };
    await bus.emit('sessionFinish', info);
    return exitCode;
  };
  const usageErrorAfterStart = async (error: UsageError, collected = 0, reports: readonly CollectReport[] = []) => {
    for (const report of reports) await bus.emit('collectReport', report);
    await bus.emit('collectionFinish', { collected, deselected: 0, items: [], errors: reports.length, durationS: 0 });
    await finish(ExitCode.USAGE_ERROR);
    process.stderr.write(`ERROR: ${error.message}\n\n`);
    return ExitCode.USAGE_ERROR;
  };

  function importErrorReport(e: CollectionError): CollectReport {
    const failure = formatFailure(e.error, { tb: args.tb === 'auto' ? 'short' : args.tb, rootdir: config.rootdir, verbosity: args.verbose });
    if ((e.error as { pytrace?: unknown } | null)?.pytrace === false) {
      const message = crashMessage(e.error).replace(/^\w*Error: /, '');
      return { nodeid: e.nodeid, outcome: 'failed', failure: { message: `Failed: ${message}`, text: message } };
    }
    const kind = importFailureKind(e.error);
    // pytest's ImportError and SyntaxError collection errors are plain text, with no crash line for the short
    // summary; a module that cannot be resolved has no frame of the user's either, so only its message is shown.
    if (kind === 'resolution') {
      const path = resolve(config.rootdir, e.nodeid);
      const message = crashMessage(e.error);
      return { nodeid: e.nodeid, outcome: 'failed', failure: { message: '', text: `ImportError while importing test module '${path}'.\nTraceback:\n${message.split('\n').map((l) => `E   ${l}`).join('\n')}` } };
    }
    return { nodeid: e.nodeid, outcome: 'failed', failure: kind === 'syntax' ? { ...failure, message: '' } : failure };
  }

  // Conftests first: they add header lines (reportHeader) and may fail to import (a usage error, as in pytest).
  const conftests = await session.collector.initialConftests();
  const headerLines: string[] = [];
  for (const c of conftests) {
    const hook = c.namespace.reportHeader;
    if (typeof hook === 'function') {
      const lines = await hook({ rootdir: config.rootdir, getoption: workerSettings.requestConfig.options });
      if (Array.isArray(lines)) headerLines.push(...lines.map(String));
      else if (lines) headerLines.push(String(lines));
    }
  }
  const paths = initialPaths(config);
  await bus.emit('sessionStart', {
    startTime,
    rootdir: config.rootdir,
    configfile: config.inifileRelative,
    testpaths: paths.source === 'testpaths' ? config.ini.testpaths : undefined,
    headerLines,
    cachedir: cache?.displayPath(),
    platform: process.platform,
    versions: { node: process.version, pytestTs: VERSION },
  });
  for (const message of unknownKeyWarnings(config)) await warn({ message, category: 'PytestConfigWarning', location: config.inifileRelative });
  if (paths.warning) await warn({ message: paths.warning, category: 'PytestConfigWarning' });

  // Collection. Path and node-id errors are usage errors; import errors are collection errors.
  const collectStart = performance.now();
  let result;
  try {
    const cwd = config.invocationDir;
    result = await session.collect(cache?.collectionFilter(paths.paths.map((p) => resolve(cwd, p.split('::')[0]!.split('[')[0]!))));
  } catch (error) {
    // pytest still shows the import errors it met and counts the tests that node ids named before it gives up.
    if (error instanceof NodeIdNotFound) return usageErrorAfterStart(error, error.collected, session.collector.errors.map(importErrorReport));
    if (error instanceof UsageError) return usageErrorAfterStart(error);
    throw error;
  }
  for (const w of result.warnings) await warn({ message: w.message, category: 'PytestCollectionWarning', location: w.location });

  const collectReports: CollectReport[] = result.errors.map(importErrorReport);
  let items: Item[] = result.items;
  if (!config.ini.strictMarkers) {
    // pytest warns about each use of an unregistered mark; `-W error::pytest.PytestUnknownMarkWarning` makes the
    // first one in a module a collection error of that module.
    const registered = new Set(config.ini.markers.map((m) => m.name));
    const failed = new Set<string>();
    for (const use of unknownMarkUses(items, registered)) {
      if (failed.has(use.module.nodeid)) continue;
      const message = unknownMarkMessage(use.name);
      const moduleName = use.module.nodeid.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
      const action = warningsOff ? 'ignore' : warningFilters.actionFor('PytestUnknownMarkWarning', message, moduleName);
      if (action === 'show') await bus.emit('warning', { message, category: 'PytestUnknownMarkWarning', location: `${use.module.path}:${use.line}` });
      if (action === 'error') {
        failed.add(use.module.nodeid);
        const text = `pytest.PytestUnknownMarkWarning: ${message}`;
        collectReports.push({ nodeid: use.module.nodeid, outcome: 'failed', failure: { message: text, text } });
      }
    }
    items = items.filter((i) => !failed.has(i.module.nodeid));
  }
  if (config.ini.strictMarkers) {
    const registered = new Set(config.ini.markers.map((m) => m.name));
    const broken = new Set<string>();
    for (const item of items) {
      const bad = unregisteredMark(item.marks, registered);
      if (bad && !broken.has(item.module.nodeid)) {
        broken.add(item.module.nodeid);
        const message = `Failed: '${bad.name}' not found in \`markers\` configuration option`;
        collectReports.push({ nodeid: item.module.nodeid, outcome: 'failed', failure: { message, text: message } });
      }
    }
    items = items.filter((i) => !broken.has(i.module.nodeid));
  }
  // Under --lf the collector has already skipped files and module-level tests as pytest does; the rest of --lf
  // (deselecting the tests that passed) comes after -k, -m and --deselect.
  const collectedCount = items.length;

  // Selection: -k / -m errors come after node-id errors. pytest compiles AND evaluates -k before it compiles -m, so
  // a -k call error (raised while evaluating) beats an -m syntax error; selectItems compiles -m lazily for that.
  let selection;
  try {
    const keyword = compileOption('-k', args.keyword, compileKeywordOption);
    const markexpr = () => compileOption('-m', args.markexpr, compileMarkOption);
    selection = selectItems(items, { deselect: args.deselect, keyword, markexpr });
  } catch (error) {
    if (error instanceof UsageError) return usageErrorAfterStart(error, items.length);
    throw error;
  }
  const modified = cache ? cache.modifySelected(selection.selected) : { items: selection.selected, deselected: [] };
  const selected = modified.items;
  const deselectedCount = selection.deselected.length + modified.deselected.length;

  // The whole fixture graph is checked before the first test; every problem is a collection error with file:line.
  const { plans, problems } = session.plan(selected);
  for (const p of problems) {
    const message = `${p.location}: ${p.message}`;
    collectReports.push({ nodeid: p.nodeid.split('::')[0]!, outcome: 'failed', failure: { message, text: message } });
  }
  const brokenItems = new Set(problems.map((p) => p.nodeid));
  for (const report of collectReports) await bus.emit('collectReport', report);

  await bus.emit('collectionFinish', {
    collected: collectedCount,
    deselected: deselectedCount,
    items: selected.map((i) => ({ nodeid: i.nodeid, location: i.location, markers: i.marks.map((m) => m.name) })),
    errors: collectReports.length,
    durationS: (performance.now() - collectStart) / 1000,
    reportLines: cache?.collectionLine ? [cache.collectionLine] : undefined,
  });

  if (collectReports.length > 0 && !args.continueOnCollectionErrors) {
    const n = collectReports.length;
    return finish(ExitCode.INTERRUPTED, { reason: `${n} error${n === 1 ? '' : 's'} during collection`, kind: 'collection' });
  }
  if (args.collectOnly) return finish(selected.length === 0 && collectReports.length === 0 ? ExitCode.NO_TESTS_COLLECTED : collectReports.length ? ExitCode.INTERRUPTED : ExitCode.OK);
  const runnable = plans.filter((p) => !brokenItems.has(p.item.nodeid));
  if (runnable.length === 0 && collectReports.length === 0) return finish(ExitCode.NO_TESTS_COLLECTED);

  const isolation = config.settings.isolation;
  const executor: Executor =
    isolation === 'none'
      ? { run: (p) => session.run(p), interrupt: (r) => session.loop.interrupt(r), get failures() { return session.loop.failures; }, get stopReason() { return session.loop.stopReason; }, get interruptedBy() { return session.loop.interruptedBy; } }
      : new IsolatedExecutor(workerSettings, bus, { mode: isolation, maxOldSpaceSizeMB: config.ini.workerMaxOldSpaceSize });

  const stopSignals = installSignalHandlers(executor);
  try {
    await executor.run(runnable);
  } finally {
    stopSignals();
  }
  const suiteProperties = [...session.state.suiteProperties, ...(executor instanceof IsolatedExecutor ? executor.suiteProperties : [])];
  session.state.cleanup(executor.failures > 0);

  const failed = executor.failures > 0 || collectReports.length > 0;
  if (executor.interruptedBy) {
    const i = executor.interruptedBy;
    return finish(ExitCode.INTERRUPTED, { reason: i.message, kind: i.kind }, suiteProperties);
  }
  if (executor.stopReason) return finish(ExitCode.TESTS_FAILED, { reason: executor.stopReason, kind: 'maxfail' }, suiteProperties);
  return finish(failed ? ExitCode.TESTS_FAILED : ExitCode.OK, undefined, suiteProperties);
}

function compileOption(option: '-k' | '-m', value: string | undefined, compile: (v: string) => Expression | null): Expression | null {
  if (value === undefined) return null;
  try {
    return compile(value);
  } catch (error) {
    if (error instanceof ExpressionError) throw new UsageError(formatExpressionError(option, error));
    throw error;
  }
}

/**
 * First Ctrl-C (or SIGTERM): interrupt the running test, run teardowns, print the summary, write the reports, exit 2.
 * A second Ctrl-C ends at once; reports are written atomically, so nothing half-written is left behind.
 */
function installSignalHandlers(executor: Executor): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count > 1) {
      process.stderr.write(`\n!!! ${signal} again: stopping at once; teardowns and reports are skipped !!!\n`);
      process.exit(ExitCode.INTERRUPTED);
    }
    executor.interrupt(signal === 'SIGINT' ? new Interrupted('keyboard') : new Interrupted('signal', signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

function buildWorkerSettings(config: Config, extraOptions: readonly ExtraOptionSpec[], liveLevel: number): WorkerSettings {
  const options: Record<string, unknown> = { ...config.args };
  for (const spec of extraOptions) {
    const key = spec.flag.replace(/^-+/, '');
    options[key] = config.args.extra[key] ?? spec.default;
  }
  return {
    collect: collectOptionsFrom(config, initialPaths(config).paths),
    run: {
      tb: config.args.tb,
      verbosity: config.args.verbose,
      rootdir: config.rootdir,
      timeout: config.settings.timeout,
      maxfail: config.args.maxfail,
      xfailStrict: config.ini.strictXfail,
      setupShow: config.args.setupShow,
    },
    capture: config.args.capture,
    logFormat: config.settings.logFormat,
    logDateFormat: config.settings.logDateFormat,
    liveLogLevel: config.settings.logCli ? liveLevel : undefined,
    requestConfig: { rootdir: config.rootdir, inipath: config.inipath, options, ini: config.iniRaw },
  };
}
