/**
 * The demo host's console: asks Allow/Deny when a guest requests control and whether to let in
 * someone waiting in the lobby (no answer in time is a no), and takes the panic command — `s`
 * then Enter — at any moment, even mid-question.
 * Without a terminal (CI, piped output) requests are denied and the user is told how to allow.
 * A guest's name is printed as plain text with its client and short id (names are not unique).
 */
import { createInterface, type Interface } from 'node:readline';

import type { Knock, LobbyAsker, PromptAnswer, Requester } from '../runner/host-runner';
import { terminalText } from './terminal-text';

export type { PromptAnswer };

export class ControlPrompt implements LobbyAsker {
  private readonly rl: Interface | undefined;
  private pending: { resolve(a: PromptAnswer): void; timer: ReturnType<typeof setTimeout> } | undefined;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly say: (line: string) => void,
    private readonly onPanic: () => void,
    private readonly policy: 'ask' | 'allow' | 'deny',
    private readonly timeoutMs = 20_000,
    /** `r`: share the screen again after the desktop stopped the sharing (Wayland). */
    private readonly onResume?: () => void,
  ) {
    if (process.stdin.isTTY) {
      this.rl = createInterface({ input: process.stdin, terminal: false });
      this.rl.on('line', (line) => this.onLine(line.trim().toLowerCase()));
    }
  }

  /** Asks the host about one guest; requests queue so answers cannot go to the wrong guest. */
  ask(rawName: string, who?: Requester): Promise<PromptAnswer> {
    const name = describe(rawName, who);
    if (this.policy === 'allow') {
      this.say(`${name} takes control (--allow-control)`);
      return Promise.resolve({ allow: true, reason: 'allowed' });
    }
    if (this.policy === 'deny' || !this.rl) {
      this.say(`${name} asked for control; denied (${this.rl ? '--deny-control' : 'no terminal to ask on; start the demo with --allow-control to allow'})`);
      return Promise.resolve({ allow: false, reason: 'disabled' });
    }
    return this.question(`${name} asks to control this screen. Allow? [y/N]`, `no answer; ${name} was denied`);
  }

  /** Someone waits in the lobby: let them in? Asked in turn with control requests; `--allow-control` lets everyone in. */
  async admit(knock: Knock): Promise<{ admit: boolean; reason: 'allowed' | 'denied' | 'timeout' }> {
    const who = describe(knock.name, {
      participantId: knock.participantId,
      shortId: knock.shortId,
      ...(knock.client ? { client: knock.client } : {}),
      ...(knock.link ? { link: knock.link } : {}),
    });
    const name = `${who} from ${terminalText(knock.from, 64)}`;
    if (this.policy === 'allow') {
      this.say(`${name} joins as ${knock.role} (--allow-control lets everyone in)`);
      return { admit: true, reason: 'allowed' };
    }
    if (!this.rl) {
      this.say(`${name} waits to join as ${knock.role}; turned away (no terminal to ask on; start the demo with --allow-control to let everyone in)`);
      return { admit: false, reason: 'denied' };
    }
    const answer = await this.question(`${name} wants to join as ${knock.role}. Let them in? [y/N]`, `no answer; ${name} was not let in`);
    return { admit: answer.allow, reason: answer.allow ? 'allowed' : answer.reason === 'timeout' ? 'timeout' : 'denied' };
  }

  /** One question at a time, so an answer cannot go to the wrong guest. */
  private question(text: string, timeoutNote: string): Promise<PromptAnswer> {
    return new Promise((resolve) => {
      const start = () => {
        this.say(`${text} (no answer in ${this.timeoutMs / 1000} s = no)`);
        const timer = setTimeout(() => this.finish({ allow: false, reason: 'timeout' }, timeoutNote), this.timeoutMs);
        this.pending = { resolve, timer };
      };
      if (this.pending) this.queue.push(start);
      else start();
    });
  }

  close(): void {
    if (this.pending) this.finish({ allow: false, reason: 'denied' });
    this.rl?.close();
  }

  private onLine(line: string): void {
    if (line === 's' || line === 'stop') {
      this.onPanic();
      if (this.pending) this.finish({ allow: false, reason: 'denied' });
      return;
    }
    if (!this.pending && this.onResume && (line === 'r' || line === 'resume')) {
      this.onResume();
      return;
    }
    if (!this.pending) {
      if (line) this.say(`commands: s = stop all control now;${this.onResume ? ' r = share the screen again after it stopped;' : ''} Ctrl-C = end the session`);
      return;
    }
    if (line === 'y' || line === 'yes') this.finish({ allow: true, reason: 'allowed' });
    else this.finish({ allow: false, reason: 'denied' });
  }

  private finish(answer: PromptAnswer, note?: string): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    if (note) this.say(note);
    p.resolve(answer);
    this.queue.shift()?.();
  }
}

const CLIENT: Record<string, string> = { vscode: 'VS Code', browser: 'browser' };

/** "Ada (browser, id 3fa9c2, link for-ada)": everything a guest supplied, as plain text. */
export function describe(name: string, who: Requester | undefined): string {
  const shown = terminalText(name, 64);
  if (!who) return shown;
  const details = [who.client ? (CLIENT[who.client] ?? who.client) : 'unknown client', `id ${terminalText(who.shortId, 12)}`];
  if (who.link) details.push(`link ${terminalText(who.link, 64)}`);
  return `${shown} (${details.join(', ')})`;
}
