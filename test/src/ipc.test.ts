import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcServer, parseIpcRequest, sendIpcCommand, type IpcAction } from '../../src/ipc.js';
import { createRecordingLogger } from '../../src/log.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function socketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startServer(handle: (action: IpcAction) => Promise<Record<string, unknown>>, afterReply?: (action: IpcAction) => void) {
  const socketPath = join(socketDir(), 'd.sock');
  const server = new IpcServer({ socketPath, handle, afterReply, logger: createRecordingLogger() });
  await server.start();
  cleanups.push(() => server.stop());
  return { server, socketPath };
}

/** Sends raw bytes (possibly in several writes) and returns the raw reply. */
function sendRaw(socketPath: string, parts: string[], end = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let reply = '';
    socket.on('connect', () => {
      for (const part of parts) socket.write(part);
      if (end) socket.end();
    });
    socket.on('data', (chunk) => (reply += chunk.toString()));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe('parseIpcRequest', () => {
  const good: [string, IpcAction][] = [
    ['{"action":"toggle"}', 'toggle'],
    ['{"action": "status"}\n', 'status'],
    ['  {"command":"stop"}  ', 'stop'],
  ];
  for (const [text, action] of good) it(`${JSON.stringify(text)} is ${action}`, () => assert.equal(parseIpcRequest(Buffer.from(text)), action));

  const bad: [string, string | Buffer, RegExp][] = [
    ['empty', '', /the request is empty/],
    ['not JSON', 'toggle', /the request is not JSON: "toggle"/],
    ['an array', '["toggle"]', /must be a JSON object/],
    ['an unknown action', '{"action":"reboot"}', /unknown action "reboot": expected toggle, status, stop/],
    ['no action', '{"verb":"toggle"}', /unknown action null/],
    ['over 1,024 bytes', Buffer.alloc(1025, 0x20), /longer than 1024 bytes/],
  ];
  for (const [what, text, message] of bad) it(`rejects ${what}`, () => assert.throws(() => parseIpcRequest(Buffer.from(text)), message));
});

describe('IpcServer over a real Unix socket', () => {
  it('answers a command with the handler\'s result; the socket is private', async () => {
    const seen: IpcAction[] = [];
    const { socketPath } = await startServer(async (action) => {
      seen.push(action);
      return { state: 'idle' };
    });
    assert.deepEqual(await sendIpcCommand(socketPath, 'status'), { status: 'ok', state: 'idle' });
    assert.deepEqual(seen, ['status']);
    assert.equal(lstatSync(socketPath).mode & 0o777, 0o600);
  });

  it('turns a handler failure and a bad request into error replies, and keeps serving', async () => {
    const { socketPath } = await startServer(async (action) => {
      if (action === 'toggle') throw new Error('refused: the daemon is in the error state');
      return { ok: true };
    });
    assert.deepEqual(await sendIpcCommand(socketPath, 'toggle'), { status: 'error', error: 'refused: the daemon is in the error state' });
    assert.deepEqual(await sendIpcCommand(socketPath, 'dance'), { status: 'error', error: 'unknown action "dance": expected toggle, status, stop' });
    const oversized = JSON.parse(await sendRaw(socketPath, [' '.repeat(2000)], false));
    assert.deepEqual(oversized, { status: 'error', error: 'the request is longer than 1024 bytes' });
    assert.deepEqual(await sendIpcCommand(socketPath, 'status'), { status: 'ok', ok: true });
  });

  it('waits for a request that arrives in pieces', async () => {
    const { socketPath } = await startServer(async () => ({ pieces: 'joined' }));
    const reply = await sendRaw(socketPath, ['{"act', 'ion":"sta', 'tus"}']);
    assert.deepEqual(JSON.parse(reply), { status: 'ok', pieces: 'joined' });
  });

  it('runs afterReply only once the reply is on its way', async () => {
    let replyReceived = false;
    let sawReplyFirst: boolean | undefined;
    const { socketPath } = await startServer(
      async () => ({ state: 'stopping' }),
      () => {
        sawReplyFirst = !replyReceived;
      },
    );
    const reply = await sendIpcCommand(socketPath, 'stop');
    replyReceived = true;
    assert.deepEqual(reply, { status: 'ok', state: 'stopping' });
    assert.equal(sawReplyFirst, true, 'afterReply ran (the reply was flushed before it)');
  });

  it('stop() closes open connections, removes the socket file and leaves no handle', async () => {
    const before = process.getActiveResourcesInfo().length;
    const { server, socketPath } = await startServer(async () => ({}));
    const idle = net.createConnection(socketPath); // a client that never sends anything
    await new Promise((resolve) => idle.on('connect', resolve));
    const closed = new Promise((resolve) => idle.on('close', resolve));
    await server.stop();
    await closed;
    assert.equal(existsSync(socketPath), false);
    assert.equal(server.listening, false);
    await waitFor(() => process.getActiveResourcesInfo().length <= before);
  });

  it('replaces a stale socket file, but never a live one or something that is not a socket', async () => {
    const dir = socketDir();
    const stale = join(dir, 'stale.sock');
    // A daemon killed while listening leaves its socket file behind, with nobody listening.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.equal(lstatSync(stale).isSocket(), true);
    const server = new IpcServer({ socketPath: stale, handle: async () => ({ fresh: true }), logger: createRecordingLogger() });
    await server.start();
    cleanups.push(() => server.stop());
    assert.deepEqual(await sendIpcCommand(stale, 'status'), { status: 'ok', fresh: true });

    const second = new IpcServer({ socketPath: stale, handle: async () => ({}), logger: createRecordingLogger() });
    await assert.rejects(second.start(), new RegExp(`another daemon is already listening on ${stale}`));

    const notSocket = join(dir, 'file.sock');
    writeFileSync(notSocket, 'data');
    const third = new IpcServer({ socketPath: notSocket, handle: async () => ({}), logger: createRecordingLogger() });
    await assert.rejects(third.start(), /refusing to replace .*file\.sock: it exists and is not a socket/);
    assert.equal(existsSync(notSocket), true);
  });

  it('the client reports a missing daemon and a silent one', async () => {
    await assert.rejects(sendIpcCommand(join(socketDir(), 'none.sock'), 'status'), /ENOENT/);
    const { socketPath } = await startServer(() => new Promise(() => {}));
    await assert.rejects(sendIpcCommand(socketPath, 'status', { timeoutMs: 50 }), /no reply from .* to 'status' within 50 ms/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
