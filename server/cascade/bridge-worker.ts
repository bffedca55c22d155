/**
 * One cascade bridge worker process (cascade/, Go): started with its configuration on stdin,
 * heard through validated JSON lines on stdout (protocol/cascade-bridge.ts). The lifecycle is
 * mediasoup's: an idempotent `close()`, a `closed` flag, one 'close' event with the reason,
 * whether the worker died or was closed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TypedEmitter } from '../../common/typed-emitter';
import { BridgeConfig, BridgeEvent, MAX_BRIDGE_LINE_BYTES, type BridgeLayerStats } from '../../protocol/cascade-bridge';
import { cascadeBridgeBinary } from '../../scripts/cascade-bridge.mjs';

/** How long a worker gets to leave its rooms after SIGTERM before it is killed. */
const TERM_GRACE_MS = 2000;

export interface BridgeWorkerEvents {
  ready: { codec: string; width: number; height: number; layers: number; encryption: string };
  stats: { layers: BridgeLayerStats[]; farParticipants: number; at: number };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; message: string };
  /** Once: the worker is gone. `requested`: closed by us, not by its own failure. */
  close: { reason: string; requested: boolean; exitCode: number | null; signal: NodeJS.Signals | null };
}

export interface BridgeWorkerOptions {
  config: BridgeConfig;
  /** The worker's binary (the control plane's PAIRUX_CASCADE_BRIDGE); default the one built from cascade/. */
  binary?: string;
}

export class BridgeWorker extends TypedEmitter<BridgeWorkerEvents> {
  readonly pid: number | undefined;
  private readonly child: ChildProcess;
  private _closed = false;
  private closeRequested = false;
  private fatal: string | undefined;
  private partial = '';
  private _ready = false;

  constructor(options: BridgeWorkerOptions) {
    super();
    const config = BridgeConfig.parse(options.config);
    const binary = options.binary ?? cascadeBridgeBinary();
    if (!existsSync(binary)) throw new Error(`the cascade bridge is not built (${binary}): run \`node scripts/cascade-bridge.mjs\``);
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.receive(chunk));
    // The LiveKit SDK's own logging: kept out of the events, passed on at debug level.
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => this.emit('log', { level: 'debug', message: chunk.trimEnd().slice(0, 4096) }));
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', (err) => this.finish(`the cascade bridge could not run: ${err.message}`, null, null));
    this.child.on('exit', (code, signal) =>
      this.finish(this.fatal ?? (this.closeRequested ? 'closed' : `the cascade bridge exited (${signal ?? `code ${code}`})`), code, signal),
    );
    // stdin stays open: its end tells the worker its supervisor is gone.
    this.child.stdin!.write(`${JSON.stringify(config)}\n`);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The far room has the host's screen. */
  get ready(): boolean {
    return this._ready;
  }

  /** Asks the worker to leave its rooms (SIGTERM), killing it if it has not after a grace period. Idempotent. */
  close(): void {
    if (this._closed || this.closeRequested) return;
    this.closeRequested = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), TERM_GRACE_MS);
    timer.unref();
    this.child.once('exit', () => clearTimeout(timer));
  }

  private receive(chunk: string): void {
    this.partial += chunk;
    let newline: number;
    while ((newline = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, newline);
      this.partial = this.partial.slice(newline + 1);
      if (line.trim()) this.onLine(line);
    }
    if (Buffer.byteLength(this.partial) > MAX_BRIDGE_LINE_BYTES) this.misbehaved(`a stdout line over ${MAX_BRIDGE_LINE_BYTES} bytes`);
  }

  private onLine(line: string): void {
    if (Buffer.byteLength(line) > MAX_BRIDGE_LINE_BYTES) return this.misbehaved(`a stdout line over ${MAX_BRIDGE_LINE_BYTES} bytes`);
    let parsed;
    try {
      parsed = BridgeEvent.safeParse(JSON.parse(line));
    } catch {
      return this.misbehaved(`stdout that is not JSON: ${line.slice(0, 120)}`);
    }
    if (!parsed.success) return this.misbehaved(`an event of no known shape: ${parsed.error.issues[0]?.message ?? ''} in ${line.slice(0, 120)}`);
    const e = parsed.data;
    switch (e.event) {
      case 'ready':
        this._ready = true;
        this.emit('ready', e);
        break;
      case 'stats':
        this.emit('stats', { layers: e.layers, farParticipants: e.farParticipants, at: Date.now() });
        break;
      case 'log':
        this.emit('log', { level: e.level, message: e.message });
        break;
      case 'fatal':
        this.fatal = e.message;
        break;
    }
  }

  /** A worker that breaks its protocol is not trusted to go on. */
  private misbehaved(what: string): void {
    this.fatal ??= `the cascade bridge sent ${what}`;
    this.partial = '';
    this.child.kill('SIGKILL');
  }

  private finish(reason: string, exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this._closed) return;
    this._closed = true;
    this.child.stdin?.destroy();
    this.emit('close', { reason, requested: this.closeRequested, exitCode, signal });
  }
}
