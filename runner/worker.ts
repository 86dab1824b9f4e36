// The child side of process isolation: a worker process runs the items the parent sends it, with its own session
// (so session- and module-scoped fixtures are set up in every worker), and streams every event back over IPC.
//
// Started by runner/isolation.ts with the TypeScript loader preloaded; never imported by anything else.

import { ReporterBus } from './bus.js';
import { Collector } from './collect.js';
import { Interrupted } from './run.js';
import type { Reporter } from './reports.js';
import { Session, type SessionSettings } from './session.js';
import { buildLogFormatter, type WorkerSettings } from './worker-protocol.js';

type ParentMessage =
  | { type: 'init'; settings: WorkerSettings }
  | { type: 'run'; nodeids: string[] }
  | { type: 'stop' }
  | { type: 'exit' };

const send = (message: unknown) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });

/** Forwards every reporter event to the parent, with values that survive structured cloning. */
function forwardingReporter(): Reporter {
  const forward = (event: string) => (payload: unknown) => send({ type: 'event', event, payload: cloneable(payload) });
  return {
    testStart: forward('testStart'),
    report: forward('report'),
    testFinish: forward('testFinish'),
    warning: forward('warning'),
    logRecord: forward('logRecord'),
    setupShow: forward('setupShow'),
  };
}

function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'function' || typeof v === 'symbol' ? String(v) : v)));
  }
}

let session: Session | undefined;

async function runBatch(nodeids: string[]): Promise<void> {
  if (!session) throw new Error('worker: run before init');
  // A fresh collector per batch; the modules themselves stay cached by Node's module loader.
  const collector = new Collector({ ...session.settings.collect, args: nodeids });
  const result = await collector.collect();
  const byId = new Map(result.items.map((i) => [i.nodeid, i]));
  const items = nodeids.map((id) => byId.get(id)).filter((i): i is NonNullable<typeof i> => !!i);
  const { plans } = session.plan(items);
  await session.run(plans);
  const properties = session.state.suiteProperties.splice(0);
  await send({ type: 'done', suiteProperties: properties, failures: session.loop.failures });
}

process.on('message', (message: ParentMessage) => {
  void (async () => {
    try {
      if (message.type === 'init') {
        const settings: SessionSettings = {
          ...message.settings,
          run: { ...message.settings.run, formatLogRecord: buildLogFormatter(message.settings.logFormat, message.settings.logDateFormat) },
          onLogRecord: message.settings.liveLogLevel === undefined ? undefined : (record) => {
            if (record.level >= message.settings.liveLogLevel!) void send({ type: 'event', event: 'logRecord', payload: record });
          },
          requestConfig: {
            rootdir: message.settings.requestConfig.rootdir,
            inipath: message.settings.requestConfig.inipath,
            getoption: (name: string) => message.settings.requestConfig.options[name],
            getini: (name: string) => message.settings.requestConfig.ini[name],
          },
        };
        const bus = new ReporterBus();
        bus.add(forwardingReporter());
        session = new Session(settings, bus);
        await send({ type: 'ready' });
      } else if (message.type === 'run') {
        await runBatch(message.nodeids);
      } else if (message.type === 'stop') {
        session?.loop.interrupt(new Interrupted('keyboard'));
      } else if (message.type === 'exit') {
        process.disconnect?.();
      }
    } catch (error) {
      await send({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exitCode = 3;
      process.disconnect?.();
    }
  })();
});

// Ctrl-C reaches the whole process group: interrupt the running test, let teardowns run, report, then stop.
process.on('SIGINT', () => session?.loop.interrupt(new Interrupted('keyboard')));
process.on('SIGTERM', () => session?.loop.interrupt(new Interrupted('signal', 'SIGTERM')));
