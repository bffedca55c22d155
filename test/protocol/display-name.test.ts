/**
 * Display names are shown to the host in prompts, lists and a terminal (the demo): a name may
 * carry any ordinary letters, emoji and punctuation, but nothing that moves text around, hides
 * characters or drives a terminal, so one name cannot pass for another.
 */
import assert from 'node:assert/strict';
import { DisplayName } from '../../protocol/common';

const refusal = (name: string): string => {
  const r = DisplayName.safeParse(name);
  assert.ok(!r.success, `${JSON.stringify(name)} was accepted`);
  return r.error.issues.map((i) => i.message).join('; ');
};

describe('protocol: display names', () => {
  it('keeps ordinary names from many scripts, emoji and punctuation, trimmed', () => {
    const good = [
      'Ada',
      'Zoë Ørsted-Łukasz',
      "O'Brien, J. (ops) [on call] #1 & co!",
      '李小龙',
      'محمد',
      'שָׁלוֹם',
      'नमस्ते',
      'Ἀριστοτέλης',
      'Ann 👩🏽‍💻',
      'family 👨‍👩‍👧',
      'love ❤️',
      'flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿',
      'می‌خواهم', // a zero-width non-joiner inside a Persian word
    ];
    for (const name of good) assert.equal(DisplayName.parse(name), name, JSON.stringify(name));
    assert.equal(DisplayName.parse('  Ada\u00a0'), 'Ada');
  });

  it('refuses C0 and C1 control characters, naming the one found', () => {
    for (const cp of [0x00, 0x07, 0x1b, 0x1f, 0x7f, 0x80, 0x9b, 0x9d, 0x9f]) {
      const message = refusal(`Ann${String.fromCodePoint(cp)}x`);
      assert.match(message, new RegExp(`U\\+${cp.toString(16).toUpperCase().padStart(4, '0')}`), message);
      assert.match(message, /control/);
    }
    // CSI as a terminal would read it: the host's Allow prompt in the demo.
    refusal('Ann\u009b31mRED');
  });

  it('refuses bidi overrides and isolates that reorder what the host reads', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      const message = refusal(`Ann${String.fromCodePoint(cp)}nimda`);
      assert.match(message, /direction|invisible/, message);
    }
  });

  it('refuses invisible characters that make two names look alike', () => {
    const invisible = ['\u200b', '\u2060', '\ufeff', '\u00ad', '\u180e', '\u3164', '\u115f', '\u2800', '\u2028', '\u{e0041}', '\u034f', '\u{e000}'];
    for (const ch of invisible) assert.match(refusal(`Ha${ch}na`), /invisible|control|private/, JSON.stringify(ch));
    // A joiner is fine inside an emoji or a word, not dangling where nothing joins.
    for (const name of ['Ann\u200d', '\u200dAnn', 'An\u200d\u200dn', 'Ann \u200c']) refusal(name);
    // Names that are nothing but blanks or fillers.
    for (const name of ['   ', '\u3164', '\u00a0\u2003']) refusal(name);
  });

  it('refuses markup-free but oversized names and keeps the length cap', () => {
    assert.equal(DisplayName.parse('x'.repeat(64)), 'x'.repeat(64));
    refusal('x'.repeat(65));
  });
});
