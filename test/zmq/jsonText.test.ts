/**
 * parseJsonText accepts exactly what JSON.parse accepts (it only keeps JSON.parse from failing:
 * src/zmq/jsonText.ts), and says what is wrong where.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonSyntaxError, parseJsonBytes, parseJsonText } from '../../src/zmq/jsonText.js';
import { Rng } from '../../src/util/rng.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const SAMPLES = [
  '{"v":1,"seq":12,"t_ns":"1000","payloads":[{"name":"observation","dtype":"<f4","shape":[3]}]}',
  '{"v":1,"cmd":"evaluate","args":{"episodes":3},"id":"a\\u00e9\\n\\"x"}',
  '[1, -0, 0.5, -1.25e+3, 2E-2, true, false, null, "", {}, [], [[{}]]]',
  ' \t\r\n{ "a" : [ 1 , { "b" : null } ] } \n',
  '"\\ud83d\\ude00 \\/ \\b\\f\\r\\t"',
  '0',
  '-12.5e10',
];

test('every sample and every prefix, one-character edit and deletion of it: accepted exactly when JSON.parse accepts it', () => {
  const chars = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '+', '.', 'e', '0', '1', ' ', '\n', '\u0001', 'x', 't', 'n', 'u', '\u00e9'];
  let checked = 0;
  for (const s of SAMPLES) {
    const variants = new Set<string>();
    for (let i = 0; i <= s.length; i++) {
      variants.add(s.slice(0, i));
      variants.add(s.slice(0, i) + s.slice(i + 1));
      for (const c of chars) {
        variants.add(s.slice(0, i) + c + s.slice(i + 1));
        variants.add(s.slice(0, i) + c + s.slice(i));
      }
    }
    for (const v of variants) {
      const error = jsonSyntaxError(v);
      assert.equal(error === null, parses(v), `${JSON.stringify(v)}: scanner says ${error ?? 'valid'}`);
      checked++;
    }
  }
  assert.ok(checked > 10_000);
});

test('random texts from JSON characters: the scanner and JSON.parse agree (seeded)', () => {
  const rng = new Rng(19);
  const alphabet = '{}[],:"\\-+.eE0123456789 tfnrul/ax\n\u0000';
  let valid = 0;
  for (let k = 0; k < 50_000; k++) {
    const len = 1 + rng.int(12);
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[rng.int(alphabet.length)];
    const ok = jsonSyntaxError(s) === null;
    assert.equal(ok, parses(s), JSON.stringify(s));
    if (ok) valid++;
  }
  assert.ok(valid > 100, `some random texts are valid JSON (${valid})`);
});

test('the value is JSON.parse\'s; the error names what was found and where', () => {
  assert.deepEqual(parseJsonText('{"a":[1,{"b":null}]}'), { ok: true, value: { a: [1, { b: null }] } });
  assert.deepEqual(parseJsonBytes(Buffer.from('{"seq":7}')), { ok: true, value: { seq: 7 } });
  assert.deepEqual(parseJsonText('{"v":1,'), { ok: false, error: 'unexpected end of JSON (expected a string key) at position 7' });
  assert.deepEqual(parseJsonText('[1,]'), { ok: false, error: "unexpected ']' (expected a value) at position 3" });
  assert.deepEqual(parseJsonText('{"a" 1}'), { ok: false, error: "unexpected '1' (expected ':') at position 5" });
  assert.deepEqual(parseJsonText('"ab'), { ok: false, error: 'unexpected end of JSON (a string opened at position 0 is not closed) at position 3' });
  assert.deepEqual(parseJsonText('{} x'), { ok: false, error: "unexpected 'x' (expected the end after the value) at position 3" });
  assert.deepEqual(parseJsonBytes(Buffer.from([0xff, 0x31])), { ok: false, error: 'unexpected character U+FFFD (expected a value) at position 0' });
});

test('nesting 100,000 deep is scanned without recursion', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal(jsonSyntaxError(deep), null);
  assert.match(jsonSyntaxError('['.repeat(100_000) + ']'.repeat(99_999))!, /end of JSON \(expected ',' or '\]'\)/);
});
