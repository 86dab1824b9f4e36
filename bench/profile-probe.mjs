// Entry point for bench/profile.mjs: does what bin/pytest-ts.js does, with timestamps.
//
//   node --import <repo>/bin/register.js bench/profile-probe.mjs OUT.json [pytest-ts args...]
//
// It registers bench/profile-hooks.mjs after pytest-ts's loader (so it sees every load), stamps the moments
// the user can see (each write to stdout, i.e. the header, the "collected" line, each progress line, the summary),
// and writes everything to OUT.json at exit. Nothing in runner/ is changed.

import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';

const now = () => performance.timeOrigin + performance.now();
const record = { processStart: performance.timeOrigin, probeStart: now(), marks: [], loads: [], resolves: [], writes: [] };
const [outFile, ...args] = process.argv.slice(2);

const { port1, port2 } = new MessageChannel();
port1.on('message', (m) => (m.kind === 'load' ? record.loads : record.resolves).push(m));
port1.unref();
register('./profile-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  const text = String(chunk);
  // Head and tail are enough to recognise the header, the "collected" line, progress lines and the summary.
  record.writes.push({ at: now(), bytes: text.length, text: text.length > 400 ? `${text.slice(0, 200)}\n...\n${text.slice(-200)}` : text });
  return write(chunk, ...rest);
};

record.marks.push({ name: 'probe ready', at: now() });
const { main } = await import('../runner/cli.ts');
record.marks.push({ name: 'runner/cli.ts imported', at: now() });
const code = await main(args);
record.marks.push({ name: 'main() returned', at: now() });
process.exitCode = code;
process.on('exit', () => {
  record.marks.push({ name: 'exit', at: now() });
  record.memory = process.memoryUsage();
  record.resourceUsage = process.resourceUsage();
  writeFileSync(outFile, JSON.stringify(record));
});
