import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { decodeMessage } from '../../src/zmq/codec.js';
import { PolicyServer } from '../../src/zmq/policyServer.js';
import { TelemetryPublisher } from '../../src/zmq/telemetry.js';
import {
  curveKeyPair,
  isLoopbackEndpoint,
  loadCurveServerKeys,
  writeCurveKeyPairFile,
  writePrivateFile,
  ZapAuthenticator,
  z85Encode,
} from '../../src/zmq/security.js';
import { MlpPolicy } from './fixtures/mlpPolicy.js';
import { PYTHON, runToEnd } from './fixtures/processes.js';
import { askInfo } from './fixtures/askInfo.js';

test('security: loopback endpoints are recognised', () => {
  for (const e of ['tcp://127.0.0.1:5555', 'tcp://127.0.0.1:*', 'tcp://localhost:1', 'tcp://[::1]:2', 'ipc:///tmp/x', 'inproc://a']) {
    assert.equal(isLoopbackEndpoint(e), true, e);
  }
  for (const e of ['tcp://0.0.0.0:5555', 'tcp://*:5555', 'tcp://eth0:1', 'tcp://192.168.1.4:5', 'tcp://127.0.0.1.evil.com:5', 'udp://127.0.0.1:5']) {
    assert.equal(isLoopbackEndpoint(e), false, e);
  }
});

test('security: a non-loopback bind needs CURVE keys or an explicit insecure setting', async () => {
  await assert.rejects(
    TelemetryPublisher.open({ endpoint: 'tcp://0.0.0.0:*' }),
    /telemetry: refusing to bind tcp:\/\/0\.0\.0\.0:\* without CURVE keys/,
  );
  const open = await TelemetryPublisher.open({ endpoint: 'tcp://0.0.0.0:*', security: { insecure: true } });
  assert.match(open.endpoint, /^tcp:\/\/0\.0\.0\.0:[0-9]+$/);
  open.close();
});

test('security: key files must be private; errors name the file and the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sacbridge-keys-'));
  try {
    const pairFile = join(dir, 'server.key');
    const pair = await writeCurveKeyPairFile(pairFile);
    assert.equal((await stat(pairFile)).mode & 0o777, 0o600);
    const clients = join(dir, 'clients');
    // Keys that contain or start with '#' (a Z85 character) are keys, not comments.
    await writePrivateFile(clients, `# operators\n#\n${curveKeyPair().publicKey} alice\n  #${'a'.repeat(39)}\n\n`);
    const keys = await loadCurveServerKeys({ serverKeyPairFile: pairFile, allowedClientKeysFile: clients });
    assert.deepEqual(keys.server, pair);
    assert.equal(keys.allowedClients.size, 2);
    assert.ok(keys.allowedClients.has(`#${'a'.repeat(39)}`));

    await chmod(pairFile, 0o644);
    await assert.rejects(loadCurveServerKeys({ serverKeyPairFile: pairFile, allowedClientKeysFile: clients }), new RegExp(`'${pairFile}' has permissions 0644.*chmod 600`));
    await chmod(pairFile, 0o600);
    await writeFile(clients, 'not-a-key\n', { mode: 0o600 });
    await assert.rejects(loadCurveServerKeys({ serverKeyPairFile: pairFile, allowedClientKeysFile: clients }), /line 1: not a 40-character Z85 public key/);
    await assert.rejects(loadCurveServerKeys({ serverKeyPairFile: join(dir, 'missing'), allowedClientKeysFile: clients }), /missing' cannot be read/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('security: keys also load from separate Z85 files and a directory of client keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sacbridge-keys-'));
  try {
    const pair = curveKeyPair();
    const a = curveKeyPair();
    const b = curveKeyPair();
    await writePrivateFile(join(dir, 'server.pub'), `${pair.publicKey}\n`);
    await writePrivateFile(join(dir, 'server.secret'), `${pair.secretKey}\n`);
    await mkdir(join(dir, 'clients'), { mode: 0o700 });
    await writePrivateFile(join(dir, 'clients', 'alice.key'), `${a.publicKey}\n`);
    await writePrivateFile(join(dir, 'clients', 'bob.key'), `# bob's laptop\n${b.publicKey}\n`);
    const files = { publicKeyFile: join(dir, 'server.pub'), secretKeyFile: join(dir, 'server.secret'), allowedClientKeysDir: join(dir, 'clients') };
    const keys = await loadCurveServerKeys(files);
    assert.deepEqual(keys.server, pair);
    assert.deepEqual([...keys.allowedClients].sort(), [a.publicKey, b.publicKey].sort());
    await chmod(join(dir, 'clients', 'bob.key'), 0o640);
    await assert.rejects(loadCurveServerKeys(files), /bob\.key' has permissions 0640/);
    await chmod(join(dir, 'clients'), 0o777);
    await assert.rejects(loadCurveServerKeys(files), /directory .* is writable by others \(mode 0777\)/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('security: z85Encode matches libzmq key text', () => {
  // The Z85 reference vector from ZeroMQ RFC 32.
  assert.equal(z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])), 'HelloWorld');
});

test('security: with CURVE only allowed client keys get answers (node and Python clients)', async () => {
  const server = curveKeyPair();
  const allowed = curveKeyPair();
  const stranger = curveKeyPair();
  const policy = await PolicyServer.open({
    endpoint: 'tcp://127.0.0.1:*',
    policy: MlpPolicy.random(4, [8], 2, 1),
    security: { curve: { server, allowedClients: new Set([allowed.publicKey]) } },
  });
  try {
    const auth = await ZapAuthenticator.acquire();
    const denied0 = auth.denied;
    assert.equal(await askInfo(policy.endpoint, { server: server.publicKey, client: allowed }, 2000), 4);
    assert.equal(await askInfo(policy.endpoint, { server: server.publicKey, client: stranger }, 300), null);
    assert.equal(await askInfo(policy.endpoint, null, 300), null);
    assert.ok(auth.denied > denied0, 'the stranger was denied by the ZAP handler');

    const script = `
import sys, json, numpy as np
sys.path.insert(0, 'clients/python')
from sacbridge_client import PolicyClient, Timeout
keys = json.loads(sys.argv[1])
def try_act(secret, public):
    c = PolicyClient(keys['endpoint'], curve=dict(server_public=keys['server'], public=public, secret=secret), timeout_ms=keys['timeout'])
    try:
        a, v = c.act(np.ones(4, np.float32))
        return [float(x) for x in a]
    except Timeout:
        return None
    finally:
        c.close()
print(json.dumps({'allowed': try_act(keys['secret'], keys['public']), 'stranger': try_act(keys['s_secret'], keys['s_public'])}))
`;
    const args = { endpoint: policy.endpoint, server: server.publicKey, public: allowed.publicKey, secret: allowed.secretKey, s_public: stranger.publicKey, s_secret: stranger.secretKey, timeout: 1500 };
    const run = await runToEnd(PYTHON, ['-c', script, JSON.stringify(args)]);
    assert.equal(run.code, 0, run.stderr);
    const seen = JSON.parse(run.stdout) as { allowed: number[] | null; stranger: number[] | null };
    const expected = new Float32Array(2);
    MlpPolicy.random(4, [8], 2, 1).act(new Float32Array(4).fill(1), true, expected);
    assert.deepEqual(seen.allowed, [...expected]);
    assert.equal(seen.stranger, null);
  } finally {
    await policy.close();
  }
});

test('security: several CURVE sockets in one process share the ZAP handler, each with its own allowed keys', async () => {
  const server = curveKeyPair();
  const operator = curveKeyPair();
  const viewer = curveKeyPair();
  const telemetry = await TelemetryPublisher.open({
    endpoint: 'tcp://127.0.0.1:*',
    security: { curve: { server, allowedClients: new Set([operator.publicKey, viewer.publicKey]) } },
  });
  const policy = await PolicyServer.open({
    endpoint: 'tcp://127.0.0.1:*',
    policy: MlpPolicy.random(4, [8], 2, 1),
    security: { curve: { server, allowedClients: new Set([operator.publicKey]) } },
  });
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 50 });
  sub.curveServerKey = server.publicKey;
  sub.curvePublicKey = viewer.publicKey;
  sub.curveSecretKey = viewer.secretKey;
  sub.subscribe('phase');
  sub.connect(telemetry.endpoint);
  try {
    // The viewer may watch telemetry but not ask the policy; the operator may do both.
    let seen = false;
    for (let k = 0; k < 100 && !seen; k++) {
      telemetry.publishPhase({ from: 'idle', to: 'armed', reason: 'curve' });
      try {
        seen = decodeMessage(await sub.receive()).header.reason === 'curve';
      } catch {
        // not connected yet
      }
    }
    assert.ok(seen, 'the allowed viewer received telemetry over CURVE');
    assert.equal(await askInfo(policy.endpoint, { server: server.publicKey, client: viewer }, 300), null);
    assert.equal(await askInfo(policy.endpoint, { server: server.publicKey, client: operator }, 2000), 4);
  } finally {
    sub.close();
    telemetry.close();
    await policy.close();
  }
});
