// The daemon's control socket (SPEC A.4 "Defaults"): a Unix socket that takes one JSON command per connection,
// `{"action": "toggle" | "status" | "stop"}`, read with a 1,024-byte limit as the original's `recv(1024)`, and answers
// with one JSON line. The socket file is private (0600) and removed on stop; a stale file left by a dead daemon is
// replaced, a live daemon's socket or anything that is not a socket is never touched.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { createLogger, type Logger } from './log.js';

export const IPC_READ_BYTES = 1024;
export const IPC_ACTIONS = ['toggle', 'status', 'stop'] as const;
export type IpcAction = (typeof IPC_ACTIONS)[number];

export type IpcReply = ({ status: 'ok' } & Record<string, unknown>) | { status: 'error'; error: string };

/** A request the server cannot act on; the message is the reply's `error`. */
export class IpcRequestError extends Error {
  override name = 'IpcRequestError';
}

/** Parses one request. Accepts `action` (the original's key) or `command`. */
export function parseIpcRequest(bytes: Uint8Array): IpcAction {
  if (bytes.length > IPC_READ_BYTES) throw new IpcRequestError(`the request is longer than ${IPC_READ_BYTES} bytes`);
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text === '') throw new IpcRequestError('the request is empty: send a JSON object such as {"action": "status"}');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new IpcRequestError(`the request is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new IpcRequestError('the request must be a JSON object such as {"action": "status"}');
  }
  const record = parsed as Record<string, unknown>;
  const action = record.action ?? record.command;
  if (typeof action !== 'string' || !(IPC_ACTIONS as readonly string[]).includes(action)) {
    throw new IpcRequestError(`unknown action ${JSON.stringify(action ?? null)}: expected ${IPC_ACTIONS.join(', ')}`);
  }
  return action as IpcAction;
}

export interface IpcServerOptions {
  socketPath: string;
  /** Answers a command; the result is sent as `{status: 'ok', ...result}`. A throw is sent as an error reply. */
  handle: (action: IpcAction) => Promise<Record<string, unknown>>;
  /** Runs once the reply has been flushed (the daemon stops itself here after a 'stop'). */
  afterReply?: (action: IpcAction) => void;
  logger?: Logger;
}

export class IpcServer {
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private readonly logger: Logger;

  constructor(private readonly options: IpcServerOptions) {
    this.logger = options.logger ?? createLogger('ipc');
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const path = this.options.socketPath;
    await clearStaleSocket(path);
    const server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error(`IPC server error on ${path}`, error));
    chmodSync(path, 0o600);
    this.server = server;
    this.logger.info(`IPC listening on ${path}`);
  }

  /** Closes the server and every open connection, then removes the socket file. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeSocketFile(this.options.socketPath);
  }

  private serve(socket: net.Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy()); // a client that vanished mid-reply is its own problem
    let received = Buffer.alloc(0);
    let answered = false;
    const answer = (complete: boolean) => {
      if (answered) return;
      let action: IpcAction;
      try {
        action = parseIpcRequest(received);
      } catch (error) {
        // An incomplete JSON object may still be arriving; answer only once the client is done or over the limit.
        if (!complete && received.length <= IPC_READ_BYTES) return;
        answered = true;
        this.reply(socket, { status: 'error', error: (error as Error).message });
        return;
      }
      answered = true;
      void this.dispatch(socket, action);
    };
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      answer(received.includes(0x0a));
    });
    socket.on('end', () => answer(true));
  }

  private async dispatch(socket: net.Socket, action: IpcAction): Promise<void> {
    let reply: IpcReply;
    try {
      reply = { status: 'ok', ...(await this.options.handle(action)) };
    } catch (error) {
      reply = { status: 'error', error: error instanceof Error ? error.message : String(error) };
    }
    this.reply(socket, reply, () => this.options.afterReply?.(action));
  }

  private reply(socket: net.Socket, reply: IpcReply, after?: () => void): void {
    if (socket.destroyed) {
      after?.();
      return;
    }
    socket.end(`${JSON.stringify(reply)}\n`, () => after?.());
  }
}

/** Sends one command and resolves with the parsed reply. */
export function sendIpcCommand(socketPath: string, action: string, options: { timeoutMs?: number } = {}): Promise<IpcReply> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise<IpcReply>((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from ${socketPath} to '${action}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      if (error) return reject(error);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(JSON.parse(text) as IpcReply);
      } catch {
        reject(new Error(`the reply from ${socketPath} is not JSON: ${JSON.stringify(text.slice(0, 80))}`));
      }
    };
    socket.on('connect', () => socket.write(`${JSON.stringify({ action })}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('error', (error) => finish(error));
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) throw new Error(`refusing to replace ${path}: it exists and is not a socket`);
  if (await somebodyListens(path)) throw new Error(`another daemon is already listening on ${path}`);
  unlinkSync(path);
}

function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already gone (Node removes a pipe server's file on close): nothing to do.
  }
}
