import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage,
  encodeMessage,
  ProtocolError,
  requirePayload,
  RejectionCounter,
  salvageSeq,
  PROTOCOL_VERSION,
} from '../../src/zmq/codec.js';

const header = (h: unknown): Buffer => Buffer.from(JSON.stringify(h));
const ok = { v: PROTOCOL_VERSION, seq: 3, t_ns: '123' };

function rejects(frames: Buffer[], code: string, pattern: RegExp): void {
  assert.throws(
    () => decodeMessage(frames),
    (err: unknown) => err instanceof ProtocolError && err.code === code && pattern.test(err.message),
  );
}

test('codec: encode then decode gives back topic, fields and payloads bit for bit', () => {
  const obs = new Float32Array([1.5, -2.25, 3e-8, 0]);
  const big = new Float64Array([Math.PI, -1e300]);
  const frames = encodeMessage('tick', 41, { step: 9, phase: 'armed' }, [
    { name: 'observation', data: obs, shape: [2, 2] },
    { name: 'state', data: big },
  ]);
  assert.equal(frames.length, 4);
  assert.equal(frames[2].length, 16);
  const msg = decodeMessage(frames);
  assert.equal(msg.topic, 'tick');
  assert.equal(msg.header.seq, 41);
  assert.equal(msg.header.step, 9);
  assert.match(msg.header.t_ns, /^[0-9]+$/);
  assert.deepEqual(msg.header.payloads, [
    { name: 'observation', dtype: '<f4', shape: [2, 2] },
    { name: 'state', dtype: '<f8', shape: [2] },
  ]);
  assert.deepEqual(requirePayload(msg, 'observation', 4), obs);
  assert.deepEqual(requirePayload(msg, 'state', 2), big);
  // Raw little-endian float32 on the wire.
  assert.equal(frames[2].readFloatLE(4), -2.25);
});

test('codec: an unaligned frame (offset inside a larger buffer) decodes correctly', () => {
  const data = new Float32Array([7, 8, 9]);
  const raw = Buffer.alloc(13);
  Buffer.from(data.buffer).copy(raw, 1);
  const frames = [Buffer.from('act'), header({ ...ok, payloads: [{ name: 'x', dtype: '<f4', shape: [3] }] }), raw.subarray(1)];
  assert.deepEqual(decodeMessage(frames).payloads.get('x'), data);
});

test('codec: every malformation is rejected with a code and a message naming the problem', () => {
  const p = (spec: unknown): Buffer => header({ ...ok, payloads: [spec] });
  rejects([Buffer.from('act')], 'frame_count', /at least 2 frames/);
  rejects([Buffer.from(''), header(ok)], 'topic', /1\.\.64 bytes/);
  rejects([Buffer.from('Act!'), header(ok)], 'topic', /not a valid topic/);
  rejects([Buffer.from('act'), Buffer.from('{"v":1,')], 'header_json', /not valid JSON/);
  rejects([Buffer.from('act'), Buffer.from('[1,2]')], 'header_json', /JSON object/);
  rejects([Buffer.from('act'), header({ ...ok, v: 2 })], 'version', /header\.v is 2.*version 1/);
  rejects([Buffer.from('act'), header({ ...ok, seq: -1 })], 'header_field', /header\.seq/);
  rejects([Buffer.from('act'), header({ ...ok, t_ns: 12 })], 'header_field', /header\.t_ns/);
  rejects([Buffer.from('act'), header({ ...ok, payloads: {} })], 'header_field', /payloads must be an array/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '<i4', shape: [1] }), Buffer.alloc(4)], 'dtype', /'o'.*"<i4"/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '>f4', shape: [1] }), Buffer.alloc(4)], 'dtype', /">f4"/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '<f4', shape: [1.5] }), Buffer.alloc(4)], 'shape', /\('o'\) shape/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '<f4', shape: [3] }), Buffer.alloc(8)], 'payload_size', /'o'.*needs 12 bytes, frame has 8/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '<f4', shape: [3] })], 'frame_count', /lists 1 payload.*0 payload frame/);
  rejects([Buffer.from('act'), header(ok), Buffer.alloc(4)], 'frame_count', /lists 0 payload.*1 payload frame/);
  rejects([Buffer.from('act'), p({ name: 'o', dtype: '<f4', shape: [1 << 11, 1 << 11] }), Buffer.alloc(4)], 'too_large', /elements/);
  rejects([Buffer.from('act'), Buffer.alloc(20000, 32)], 'too_large', /header is 20000 bytes/);
  const twice = header({ ...ok, payloads: [{ name: 'o', dtype: '<f4', shape: [1] }, { name: 'o', dtype: '<f4', shape: [1] }] });
  rejects([Buffer.from('act'), twice, Buffer.alloc(4), Buffer.alloc(4)], 'header_field', /'o' appears twice/);
});

test('codec: requirePayload checks presence, size and finiteness', () => {
  const msg = decodeMessage(encodeMessage('act', 1, {}, [{ name: 'observation', data: new Float32Array([1, NaN, 3]) }]));
  assert.throws(() => requirePayload(msg, 'obs', 3), /needs payload 'obs' \(has: observation\)/);
  assert.throws(() => requirePayload(msg, 'observation', 4), (e: unknown) => e instanceof ProtocolError && e.code === 'shape');
  assert.throws(() => requirePayload(msg, 'observation', 3), (e: unknown) => e instanceof ProtocolError && e.code === 'non_finite' && /element 1 is NaN/.test(e.message));
  assert.equal(requirePayload(msg, 'observation', 3, true).length, 3);
});

test('codec: salvageSeq finds the seq of a broken request for the error reply; counters count', () => {
  assert.equal(salvageSeq(header({ seq: 17, v: 9 })), 17);
  assert.equal(salvageSeq(Buffer.from('{oops')), 0);
  assert.equal(salvageSeq(undefined), 0);
  const c = new RejectionCounter();
  c.count('dtype');
  c.count('dtype');
  c.count('shape');
  assert.deepEqual(c.snapshot(), { total: 3, byCode: { dtype: 2, shape: 1 } });
});
