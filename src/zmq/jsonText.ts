/**
 * JSON from a peer, parsed without letting V8's JSON.parse fail.
 *
 * A JSON.parse that throws costs more than the exception: V8 (Node 20) makes a Script object
 * for the bad text so that the SyntaxError can point into it, and that object and the text it
 * holds outlive two scavenges and land in the old generation. A peer sending malformed JSON
 * thousands of times a second grew the policy server thread's old space by ~0.5 MB/s until the
 * next full collection (measured: 3.8 -> 20 MB and back, a sawtooth in the daemon's rss; valid
 * traffic leaves it flat). So the text is checked against the JSON grammar (RFC 8259) here
 * first, and JSON.parse only ever sees text it accepts.
 */

export type JsonText = { ok: true; value: unknown } | { ok: false; error: string };

/** `text` parsed, or why it is not JSON (what was found where). Never throws. */
export function parseJsonText(text: string): JsonText {
  const error = jsonSyntaxError(text);
  return error === null ? { ok: true, value: JSON.parse(text) as unknown } : { ok: false, error };
}

/** The UTF-8 `bytes` parsed as JSON (malformed UTF-8 becomes U+FFFD, as Buffer.toString does). */
export function parseJsonBytes(bytes: Uint8Array): JsonText {
  return parseJsonText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

const enum Ch {
  Tab = 0x09, Lf = 0x0a, Cr = 0x0d, Space = 0x20, Quote = 0x22, Plus = 0x2b, Comma = 0x2c, Minus = 0x2d,
  Dot = 0x2e, Zero = 0x30, Nine = 0x39, Colon = 0x3a, E = 0x45, LBracket = 0x5b, Backslash = 0x5c,
  RBracket = 0x5d, LowerE = 0x65, LBrace = 0x7b, RBrace = 0x7d,
}

/** Why `text` is not one JSON value, or null when it is. Iterative: nesting depth costs no stack. */
export function jsonSyntaxError(text: string): string | null {
  let i = 0;
  const n = text.length;
  // What each open container expects next: 'value' after '[' or ',', 'key' in an object, ...
  const stack: ('array' | 'object')[] = [];
  const at = (what: string): string =>
    i >= n ? `unexpected end of JSON (${what}) at position ${i}` : `unexpected ${describe(text, i)} (${what}) at position ${i}`;
  const skipSpace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== Ch.Space && c !== Ch.Tab && c !== Ch.Lf && c !== Ch.Cr) return;
      i++;
    }
  };

  for (;;) {
    // A value starts here.
    skipSpace();
    if (i >= n) return at('expected a value');
    const c = text.charCodeAt(i);
    if (c === Ch.LBrace || c === Ch.LBracket) {
      i++;
      skipSpace();
      const close = c === Ch.LBrace ? Ch.RBrace : Ch.RBracket;
      if (i < n && text.charCodeAt(i) === close) {
        i++;
      } else {
        stack.push(c === Ch.LBrace ? 'object' : 'array');
        if (c === Ch.LBrace) {
          const e = key();
          if (e !== null) return e;
        }
        continue;
      }
    } else if (c === Ch.Quote) {
      const e = string();
      if (e !== null) return e;
    } else if (c === Ch.Minus || (c >= Ch.Zero && c <= Ch.Nine)) {
      const e = number();
      if (e !== null) return e;
    } else if (text.startsWith('true', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else if (text.startsWith('null', i)) {
      i += 4;
    } else {
      return at('expected a value');
    }
    // A value ended: close containers or go on to the next element.
    for (;;) {
      skipSpace();
      const open = stack[stack.length - 1];
      if (open === undefined) return i === n ? null : at('expected the end after the value');
      const d = i < n ? text.charCodeAt(i) : -1;
      if (d === Ch.Comma) {
        i++;
        if (open === 'object') {
          const e = key();
          if (e !== null) return e;
        }
        break;
      }
      if (d === (open === 'object' ? Ch.RBrace : Ch.RBracket)) {
        i++;
        stack.pop();
        continue;
      }
      return at(open === 'object' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  /** An object key and its colon. */
  function key(): string | null {
    skipSpace();
    if (i >= n || text.charCodeAt(i) !== Ch.Quote) return at('expected a string key');
    const e = string();
    if (e !== null) return e;
    skipSpace();
    if (i >= n || text.charCodeAt(i) !== Ch.Colon) return at("expected ':'");
    i++;
    return null;
  }

  function string(): string | null {
    const start = i;
    i++; // the opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === Ch.Quote) {
        i++;
        return null;
      }
      if (c < 0x20) return at('a control character inside a string');
      if (c === Ch.Backslash) {
        const e = text.charCodeAt(i + 1);
        if (e === 0x75 /* u */) {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return at('expected 4 hex digits after \\u');
          i += 6;
        } else if (e === Ch.Quote || e === Ch.Backslash || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else {
          return at('an unknown escape');
        }
      } else {
        i++;
      }
    }
    return `unexpected end of JSON (a string opened at position ${start} is not closed) at position ${i}`;
  }

  function number(): string | null {
    if (text.charCodeAt(i) === Ch.Minus) i++;
    const digits = (): number => {
      const s = i;
      while (i < n && text.charCodeAt(i) >= Ch.Zero && text.charCodeAt(i) <= Ch.Nine) i++;
      return i - s;
    };
    if (i < n && text.charCodeAt(i) === Ch.Zero) i++;
    else if (digits() === 0) return at('expected a digit');
    if (i < n && text.charCodeAt(i) === Ch.Dot) {
      i++;
      if (digits() === 0) return at('expected a digit after the decimal point');
    }
    if (i < n && (text.charCodeAt(i) === Ch.E || text.charCodeAt(i) === Ch.LowerE)) {
      i++;
      if (i < n && (text.charCodeAt(i) === Ch.Plus || text.charCodeAt(i) === Ch.Minus)) i++;
      if (digits() === 0) return at('expected a digit in the exponent');
    }
    return null;
  }
}

/** The character at `i`, quoted, or its code point when it does not print. */
function describe(text: string, i: number): string {
  const cp = text.codePointAt(i)!;
  return cp >= 0x20 && cp !== 0x7f && cp !== 0xfffd ? `'${String.fromCodePoint(cp)}'` : `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
