/**
 * The static text of the generated screen: plausible TypeScript with VS Code Dark+ token
 * colours. Text-heavy content is what PairUX carries, so codec and bitrate choices are judged on
 * something that looks like an editor, not on a test card.
 */

const SAMPLE = `// Generated stand-in for a shared screen: PairUX draws this when no helper is attached.
import { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import { signalingBoundary, type Participant } from '../../../protocol/signaling';

export interface SessionSummary {
  id: string;
  participants: readonly Participant[];
  startedAt: number;
}

/** Keeps the participant list current from join results and notifications. */
export class ParticipantTable {
  private readonly byId = new Map<string, Participant>();

  replaceAll(list: readonly Participant[]): void {
    this.byId.clear();
    for (const p of list) this.byId.set(p.id, p);
  }

  upsert(p: Participant): boolean {
    const known = this.byId.has(p.id);
    this.byId.set(p.id, p);
    return !known;
  }

  remove(id: string): Participant | undefined {
    const p = this.byId.get(id);
    this.byId.delete(id);
    return p;
  }

  get size(): number {
    return this.byId.size;
  }
}

async function connectWithBackoff(url: string, attempt = 0): Promise<WebSocket> {
  const delay = Math.min(5_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
  try {
    return await open(url);
  } catch (err) {
    console.warn('connect failed, retrying in', Math.round(delay), 'ms', err);
    await new Promise((resolve) => setTimeout(resolve, delay));
    return connectWithBackoff(url, attempt + 1);
  }
}

export function formatLatency(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length * 0.5)] ?? NaN;
  const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? NaN;
  return \`p50 \${p50.toFixed(1)} ms, p95 \${p95.toFixed(1)} ms (\${samples.length} frames)\`;
}
`;

export const CODE_LINES: readonly string[] = SAMPLE.split('\n');

export const THEME = {
  background: '#1e1e1e',
  titleBar: '#000000',
  titleText: '#8b8b8b',
  activityBar: '#333333',
  activityIcon: '#858585',
  tabStrip: '#252526',
  activeTab: '#1e1e1e',
  tabText: '#ffffff',
  gutterText: '#858585',
  statusBar: '#007acc',
  statusText: '#ffffff',
  panel: '#181818',
  panelBorder: '#2b2b2b',
  accent: '#f14c4c',
  clockFace: '#2d2d30',
  clockTick: '#c8c8c8',
  clockHand: '#f14c4c',
};

const COLORS = {
  text: '#d4d4d4',
  keyword: '#569cd6',
  control: '#c586c0',
  string: '#ce9178',
  comment: '#6a9955',
  number: '#b5cea8',
  fn: '#dcdcaa',
  type: '#4ec9b0',
};

const KEYWORDS = new Set([
  'const',
  'let',
  'function',
  'class',
  'interface',
  'type',
  'export',
  'import',
  'from',
  'private',
  'readonly',
  'new',
  'async',
  'void',
  'string',
  'number',
  'boolean',
  'get',
  'this',
  'true',
  'false',
  'undefined',
]);
const CONTROL = new Set(['return', 'if', 'else', 'for', 'of', 'try', 'catch', 'await', 'throw']);

export interface Token {
  text: string;
  color: string;
}

/** A deliberately simple highlighter: enough colour variety to look like real code. */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  const re = /(\/\/.*$|\/\*\*.*$|^\s*\*.*$)|('[^']*'|`[^`]*`)|(\b\d[\d_.]*\b)|([A-Za-z_$][\w$]*)|(\s+|.)/g;
  for (const m of line.matchAll(re)) {
    const [text] = m;
    let color = COLORS.text;
    if (m[1]) color = COLORS.comment;
    else if (m[2]) color = COLORS.string;
    else if (m[3]) color = COLORS.number;
    else if (m[4]) {
      const rest = line.slice((m.index ?? 0) + text.length);
      if (CONTROL.has(text)) color = COLORS.control;
      else if (KEYWORDS.has(text)) color = COLORS.keyword;
      else if (/^[A-Z]/.test(text)) color = COLORS.type;
      else if (rest.startsWith('(') || rest.startsWith('<')) color = COLORS.fn;
    }
    tokens.push({ text, color });
  }
  return tokens;
}
