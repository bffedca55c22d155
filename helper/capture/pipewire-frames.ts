/**
 * The pictures of a PipeWire node (a portal's screen cast), through GStreamer's `pipewiresrc`:
 * a `gst-launch-1.0` child converts them to BGRx and writes them raw, back to back, on a pipe of
 * their own (fd 3); its stdout says the negotiated size (`-v` prints the sink's caps). A desktop
 * sends a picture only when its screen changed, so a still screen costs nothing here either.
 *
 * A size change renegotiates the caps: frames of the new size cannot be told apart on the pipe
 * from the old ones, so the child is started again at the new size and says so (`resized`).
 *
 * When the desktop ends the cast (its "stop sharing" indicator, the portal gone) the node goes
 * away, but pipewiresrc (PipeWire 0.3) neither errors nor exits: it only logs its stream's state.
 * So its state changes are read from its debug log, and `unconnected` after streaming ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { close as closeFd, closeSync, read } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { bigPipe } from '../native/pipe';

export interface PipeWireFramesOptions {
  nodeId: number;
  width: number;
  height: number;
  env: NodeJS.ProcessEnv;
  /** The GStreamer launcher (default gst-launch-1.0 on PATH). */
  gstLaunch?: string;
  log?(line: string): void;
}

export interface PipeWireFramesEvents {
  /**
   * A whole picture (BGRx, width × 4 bytes a row), and the one before it (undefined for the first
   * at a size): both valid until the next chunk arrives from the pipe, so read them at once.
   */
  frame: [picture: Buffer, previous: Buffer | undefined, width: number, height: number];
  /** The stream's size changed; frames of the new size follow. */
  resized: [width: number, height: number];
  /** The stream ended (the cast closed, GStreamer failed); nothing follows. */
  close: [reason: string];
}

const CAPS_LINE = /GstFdSink:\w+\.GstPad:sink: caps = video\/x-raw.*?width=\(int\)(\d+), height=\(int\)(\d+)/;
const STATE_LINE = /got stream state (\w+)/;

/** Whether GStreamer with its PipeWire plugin is there; the reason a person can act on when not. */
export function gstreamerMissing(env: NodeJS.ProcessEnv, gstLaunch = 'gst-launch-1.0'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('gst-inspect-1.0', ['pipewiresrc'], { env, stdio: 'ignore' });
    child.once('error', () =>
      resolve(`GStreamer is not installed (${gstLaunch} and gst-inspect-1.0 are needed: apt install gstreamer1.0-tools gstreamer1.0-pipewire)`),
    );
    child.once('exit', (code) =>
      resolve(code === 0 ? undefined : "GStreamer's PipeWire plugin is not installed (pipewiresrc: apt install gstreamer1.0-pipewire)"),
    );
  });
}

export class PipeWireFrames extends EventEmitter<PipeWireFramesEvents> {
  private child: ChildProcess | undefined;
  private width: number;
  private height: number;
  /** The picture being filled from the pipe, and how far. */
  private filling: Buffer;
  private filled = 0;
  /** The picture last completed (handed out), swapped with `filling`. */
  private complete: Buffer;
  private completeValid = false;
  private closedFlag = false;
  private stderrTail = '';

  constructor(private readonly o: PipeWireFramesOptions) {
    super();
    this.width = o.width;
    this.height = o.height;
    this.filling = Buffer.alloc(o.width * o.height * 4);
    this.complete = Buffer.alloc(o.width * o.height * 4);
    this.launch();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  close(reason = 'closed'): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.child?.kill('SIGKILL');
    this.child = undefined;
    this.emit('close', reason);
  }

  private launch(): void {
    const args = ['-v', 'pipewiresrc', `path=${this.o.nodeId}`, '!', 'videoconvert', '!', `video/x-raw,format=BGRx`, '!', 'fdsink', 'fd=3', 'sync=false'];
    // A pipe that holds a whole picture, read straight into it (where the system lets us make one).
    const pipe = bigPipe(this.width * this.height * 4);
    const child = spawn(this.o.gstLaunch ?? 'gst-launch-1.0', args, {
      env: { ...this.o.env, GST_DEBUG: 'pipewiresrc:5', GST_DEBUG_NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe', pipe ? pipe.writeFd : 'pipe'],
    });
    this.child = child;
    this.filled = 0;
    if (pipe) {
      closeSync(pipe.writeFd);
      this.readInto(child, pipe.readFd);
    } else (child.stdio[3] as Readable).on('data', (chunk: Buffer) => this.take(chunk));
    let lines = '';
    child.stdout!.on('data', (d: Buffer) => {
      lines += d.toString('utf8');
      let nl: number;
      while ((nl = lines.indexOf('\n')) >= 0) {
        const m = CAPS_LINE.exec(lines.slice(0, nl));
        lines = lines.slice(nl + 1);
        if (m) this.caps(Number(m[1]), Number(m[2]));
      }
    });
    let streamed = false;
    let errLines = '';
    child.stderr!.on('data', (d: Buffer) => {
      errLines += d.toString('utf8');
      let nl: number;
      while ((nl = errLines.indexOf('\n')) >= 0) {
        const line = errLines.slice(0, nl);
        errLines = errLines.slice(nl + 1);
        const state = STATE_LINE.exec(line)?.[1];
        if (state === 'streaming') streamed = true;
        else if (state === 'error' || (state === 'unconnected' && streamed)) {
          if (child === this.child) this.close(`sharing stopped on the host: the desktop's screen cast ended (its PipeWire stream is ${state})`);
        } else if (!/\b(DEBUG|LOG|TRACE)\b/.test(line)) this.stderrTail = (this.stderrTail + line + '\n').slice(-600);
      }
    });
    child.once('error', (err) => this.close(`GStreamer could not start: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (child !== this.child) return;
      const said = this.stderrTail.trim().split('\n').slice(-2).join(' ');
      this.close(`sharing stopped on the host: the desktop's screen cast ended (GStreamer exited ${code ?? signal}${said ? `: ${said}` : ''})`);
    });
  }

  private caps(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    this.o.log?.(`capture: the screen cast changed from ${this.width}x${this.height} to ${width}x${height}`);
    const old = this.child;
    this.child = undefined;
    old?.kill('SIGKILL');
    this.width = width;
    this.height = height;
    this.filling = Buffer.alloc(width * height * 4);
    this.complete = Buffer.alloc(width * height * 4);
    this.completeValid = false;
    this.emit('resized', width, height);
    if (!this.closedFlag) this.launch();
  }

  /** Reads the pipe into the picture being filled, as much as is there each time, until the child is replaced or gone. */
  private readInto(child: ChildProcess, fd: number): void {
    const next = () => {
      if (child !== this.child) return closeFd(fd, () => undefined);
      const into = this.filling;
      read(fd, into, this.filled, into.length - this.filled, null, (err, n) => {
        // The end (the child gone: its exit says why), or a picture of an older size.
        if (err || n === 0 || child !== this.child || into !== this.filling) return closeFd(fd, () => undefined);
        this.filled += n;
        if (this.filled === into.length) this.completed();
        next();
      });
    };
    next();
  }

  private completed(): void {
    [this.complete, this.filling] = [this.filling, this.complete];
    this.filled = 0;
    const previous = this.completeValid ? this.filling : undefined;
    this.completeValid = true;
    this.emit('frame', this.complete, previous, this.width, this.height);
  }

  private take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.filling.length - this.filled);
      chunk.copy(this.filling, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.filling.length) this.completed();
    }
  }
}
