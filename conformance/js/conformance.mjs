// Conformance with clients nobody here wrote: Google's JS SDK drives the
// standalone gemhook emulator (webhooks CRUD, batches, videos with download,
// interactions), the emulator's control API ends each job, and every
// delivery to the project webhook must verify with the standardwebhooks
// package (per-request ones are checked as v1a Ed25519 against the JWKS).
// Exits 1 when any call fails or any delivery does not verify.
//
//   GEMHOOK_EMULATOR=/path/to/gemhook-emulator node conformance.mjs
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { GoogleGenAI } from '@google/genai';
import { Webhook } from 'standardwebhooks';

const KEY = 'conformance-key';
const DEADLINE_MS = 60_000;
const failures = [];
let calls = 0;

function fail(what) {
  failures.push(what);
  console.error(`FAIL ${what}`);
}

function check(ok, what) {
  if (!ok) fail(what);
  return ok;
}

// call runs one SDK call; a throw is a failure and yields undefined.
async function call(what, fn) {
  calls++;
  try {
    return await fn();
  } catch (err) {
    fail(`${what}: ${err?.stack ?? err}`);
    return undefined;
  }
}

// --- the receiver: records every delivery --------------------------------
const secrets = []; // the project webhook's live signing secrets, newest only after a rotation
const deliveries = [];
const waiters = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    // The secrets live when it arrived: a delivery signed before a
    // rotation carries only the old one.
    const d = { path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), secrets: [...secrets] };
    try {
      d.event = JSON.parse(d.body);
    } catch {
      d.event = {};
    }
    deliveries.push(d);
    res.writeHead(204).end();
    for (const w of waiters.splice(0)) {
      if (w.match(d)) w.resolve(d);
      else waiters.push(w);
    }
  });
});
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
const hookBase = `http://127.0.0.1:${receiver.address().port}`;

// nextDelivery waits for the first delivery (already received or not) that
// match accepts and that no earlier wait took.
const taken = new Set();
function nextDelivery(what, match) {
  const accept = (d) => !taken.has(d) && match(d);
  const found = deliveries.find(accept);
  const p = found
    ? Promise.resolve(found)
    : new Promise((resolve) => waiters.push({ match: accept, resolve }));
  const timeout = new Promise((resolve) => setTimeout(() => resolve(undefined), 10_000).unref());
  return Promise.race([p, timeout]).then((d) => {
    if (!d) fail(`no delivery: ${what}`);
    else taken.add(d);
    return d;
  });
}

const ofJob = (type, id) => (d) => d.event.type === type && d.event.data?.id === id;

// --- the emulator ----------------------------------------------------------
const emulatorArgs = ['-addr', '127.0.0.1:0', '-job-duration', '-1s', '-seed', '1', '-retry-backoff', '50ms', '-api-key', KEY];
const emulator = process.env.GEMHOOK_EMULATOR
  ? spawn(process.env.GEMHOOK_EMULATOR, emulatorArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
  : spawn('go', ['run', '../../cmd/gemhook-emulator', ...emulatorArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
const deadline = setTimeout(() => {
  fail(`not done within ${DEADLINE_MS} ms`);
  finish();
}, DEADLINE_MS);
emulator.on('exit', (code) => {
  if (!stopping) {
    fail(`the emulator exited (${code})`);
    finish();
  }
});
let stopping = false;
let out = '';
const urls = await new Promise((resolve) => {
  emulator.stdout.on('data', (b) => {
    out += b;
    const base = out.match(/base URL (http:\/\/\S+)/);
    const jwks = out.match(/JWKS +(http:\/\/\S+)/);
    if (base && jwks) resolve({ base: base[1], jwks: jwks[1] });
  });
});
emulator.stdout.resume();

const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: urls.base } });

async function control(op, body) {
  calls++;
  const res = await fetch(`${urls.base}/gemhooktest/${op}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': KEY },
    body: body && JSON.stringify(body),
  });
  const json = await res.json();
  if (!check(res.ok, `control ${op} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(json)}`)) return undefined;
  return json;
}

// --- verification ----------------------------------------------------------

function verifyProject(d) {
  const errors = [];
  for (const s of d.secrets) {
    try {
      new Webhook(s).verify(d.body, d.headers);
      return true;
    } catch (err) {
      errors.push(err.message);
    }
  }
  fail(`project delivery ${d.headers['webhook-id']} (${d.event.type}) did not verify with standardwebhooks: ${errors.join('; ')}`);
  return false;
}

let jwks;
async function verifyPerRequest(d) {
  jwks ??= (await (await fetch(urls.jwks)).json()).keys.filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519');
  const signed = Buffer.from(`${d.headers['webhook-id']}.${d.headers['webhook-timestamp']}.${d.body}`);
  for (const entry of String(d.headers['webhook-signature'] ?? '').split(' ')) {
    const [scheme, sig] = entry.split(',');
    if (scheme !== 'v1a') continue;
    for (const k of jwks) {
      const key = crypto.createPublicKey({ key: { kty: k.kty, crv: k.crv, x: k.x }, format: 'jwk' });
      if (crypto.verify(null, signed, key, Buffer.from(sig, 'base64'))) return true;
    }
  }
  fail(`per-request delivery ${d.headers['webhook-id']} (${d.event.type}) did not verify as v1a`);
  return false;
}

// --- webhooks CRUD ---------------------------------------------------------
const events = ['batch.succeeded', 'batch.expired', 'batch.failed', 'interaction.requires_action',
  'interaction.completed', 'interaction.failed', 'video.generated'];
const hook = await call('webhooks.create', () =>
  ai.webhooks.create({ name: 'conformance', uri: `${hookBase}/project`, subscribed_events: events }));
check(hook?.new_signing_secret?.startsWith('whsec_'), `webhooks.create returned no secret: ${JSON.stringify(hook)}`);
if (hook?.new_signing_secret) secrets.push(hook.new_signing_secret);
const hookID = hook?.id;

const listed = await call('webhooks.list', () => ai.webhooks.list());
check(listed?.webhooks?.some((w) => w.id === hookID), `webhooks.list lacks ${hookID}`);
const got = await call('webhooks.get', () => ai.webhooks.get(hookID));
check(got?.uri === `${hookBase}/project`, `webhooks.get: ${JSON.stringify(got)}`);
const updated = await call('webhooks.update', () =>
  ai.webhooks.update(hookID, { subscribed_events: events, update_mask: 'subscribed_events' }));
check(updated?.subscribed_events?.length === events.length, `webhooks.update: ${JSON.stringify(updated)}`);

await call('webhooks.ping', () => ai.webhooks.ping(hookID));
await nextDelivery('ping', (d) => d.path === '/project' && d.event.type === 'webhook.ping');

const rotated = await call('webhooks.rotateSigningSecret', () =>
  ai.webhooks.rotateSigningSecret(hookID, { revocation_behavior: 'revoke_previous_secrets_after_h24' }));
check(rotated?.secret?.startsWith('whsec_'), `rotateSigningSecret: ${JSON.stringify(rotated)}`);
// From here on only the new secret is trusted: deliveries carry one
// signature per live secret, and the new one must be among them.
if (rotated?.secret) secrets.splice(0, secrets.length, rotated.secret);

const spare = await call('webhooks.create (spare)', () =>
  ai.webhooks.create({ uri: `${hookBase}/spare`, subscribed_events: ['batch.failed'] }));
await call('webhooks.delete', () => ai.webhooks.delete(spare?.id));
const after = await call('webhooks.list', () => ai.webhooks.list());
check(after && !after.webhooks?.some((w) => w.id === spare?.id), 'webhooks.delete left the webhook listed');

// --- batches ---------------------------------------------------------------
const src = [{ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }];
const ok = await call('batches.create', () => ai.batches.create({ model: 'gemini-2.5-flash', src }));
const bad = await call('batches.create', () => ai.batches.create({ model: 'gemini-2.5-flash', src }));
const perReq = await call('batches.create (per-request webhook)', () => ai.batches.create({
  model: 'gemini-2.5-flash', src,
  config: { webhookConfig: { uris: [`${hookBase}/per-request`], userMetadata: { tenant: 'js' } } },
}));
const cancelled = await call('batches.create', () => ai.batches.create({ model: 'gemini-2.5-flash', src }));

await control('finish', { name: ok?.name, outcome: 'succeeded' });
await control('finish', { name: bad?.name, outcome: 'failed' });
await control('finish', { name: perReq?.name, outcome: 'succeeded' });
const okEvent = await nextDelivery('batch.succeeded', ofJob('batch.succeeded', ok?.name));
const badEvent = await nextDelivery('batch.failed', ofJob('batch.failed', bad?.name));
const perReqEvent = await nextDelivery('per-request batch.succeeded', ofJob('batch.succeeded', perReq?.name));
check(perReqEvent?.path === '/per-request' && perReqEvent?.event.user_metadata?.tenant === 'js',
  `per-request event: ${perReqEvent?.path} ${perReqEvent?.body}`);
check(typeof badEvent?.event.data?.error_code === 'number', `batch.failed without error_code: ${badEvent?.body}`);

const okJob = await call('batches.get', () => ai.batches.get({ name: ok?.name }));
check(okJob?.state === 'JOB_STATE_SUCCEEDED' && okJob?.dest?.inlinedResponses?.length === 1,
  `succeeded batch: ${JSON.stringify(okJob)}`);
const badJob = await call('batches.get', () => ai.batches.get({ name: bad?.name }));
check(badJob?.state === 'JOB_STATE_FAILED', `failed batch: ${JSON.stringify(badJob)}`);
await call('batches.cancel', () => ai.batches.cancel({ name: cancelled?.name }));
const cancelledJob = await call('batches.get', () => ai.batches.get({ name: cancelled?.name }));
check(cancelledJob?.state === 'JOB_STATE_CANCELLED', `cancelled batch: ${JSON.stringify(cancelledJob)}`);
const pager = await call('batches.list', () => ai.batches.list({ config: { pageSize: 10 } }));
check(pager?.page?.length === 4, `batches.list: ${pager?.page?.length} batches`);

calls++;
try {
  await ai.batches.get({ name: 'batches/nosuchbatch' });
  fail('batches.get of an unknown batch succeeded');
} catch (err) {
  check(err?.status === 404, `batches.get of an unknown batch: ${err}`);
}

// A redelivery is the same message: same webhook-id and body.
await control('redeliver', { name: ok?.name });
const again = await nextDelivery('redelivered batch.succeeded', ofJob('batch.succeeded', ok?.name));
check(again?.headers['webhook-id'] === okEvent?.headers['webhook-id'] && again?.body === okEvent?.body,
  'the redelivery is not the same message');

// --- videos ----------------------------------------------------------------
let op = await call('models.generateVideos', () =>
  ai.models.generateVideos({ model: 'veo-3.0-generate-001', source: { prompt: 'a cat on a skateboard' } }));
await control('finish', { name: op?.name, outcome: 'succeeded' });
const videoEvent = await nextDelivery('video.generated', ofJob('video.generated', op?.name));
op = await call('operations.getVideosOperation', () => ai.operations.getVideosOperation({ operation: op }));
const video = op?.response?.generatedVideos?.[0];
check(op?.done && video?.video?.uri, `video operation: ${JSON.stringify(op)}`);
check([videoEvent?.event.data?.video_uri, videoEvent?.event.data?.output_file_uri].includes(video?.video?.uri),
  `video.generated names another file: ${videoEvent?.body}`);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gemhook-conformance-'));
const file = path.join(dir, 'video.mp4');
await call('files.download', () => ai.files.download({ file: video, downloadPath: file }));
const bytes = await fs.readFile(file, 'utf8').catch(() => '');
check(bytes.startsWith('gemhooktest video'), `downloaded video: ${JSON.stringify(bytes.slice(0, 80))}`);
await fs.rm(dir, { recursive: true, force: true });

// --- interactions ----------------------------------------------------------
const it = await call('interactions.create', () =>
  ai.interactions.create({ model: 'gemini-2.5-flash', input: 'hello', background: true }));
await control('finish', { name: it?.id, outcome: 'requires_action' });
await nextDelivery('interaction.requires_action', ofJob('interaction.requires_action', `interactions/${it?.id}`));
const waiting = await call('interactions.get', () => ai.interactions.get(it?.id));
check(waiting?.status === 'requires_action', `interaction after requires_action: ${waiting?.status}`);
await control('finish', { name: it?.id, outcome: 'succeeded' });
await nextDelivery('interaction.completed', ofJob('interaction.completed', `interactions/${it?.id}`));
const completed = await call('interactions.get', () => ai.interactions.get(it?.id));
check(completed?.status === 'completed', `interaction after completion: ${completed?.status}`);

const itHook = await call('interactions.create (per-request webhook)', () => ai.interactions.create({
  model: 'gemini-2.5-flash', input: 'hello', background: true,
  webhook_config: { uris: [`${hookBase}/per-request`], user_metadata: { tenant: 'js' } },
}));
await control('finish', { name: itHook?.id, outcome: 'failed' });
await nextDelivery('per-request interaction.failed', ofJob('interaction.failed', `interactions/${itHook?.id}`));

// --- every delivery ----------------------------------------------------------
// The emulator's log and what arrived must agree, and everything verifies.
// The emulator logs an attempt only once it has read the receiver's answer,
// so its count may trail the last arrival for a moment: poll, within bounds.
let sent = [];
for (const until = Date.now() + 5_000; ;) {
  const log = await control('deliveries');
  sent = (log?.deliveries ?? []).filter((d) => d.result === 'delivered');
  if (!log || sent.length === deliveries.length || Date.now() > until) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
check(sent.length === deliveries.length, `the emulator delivered ${sent.length}, the receiver got ${deliveries.length}`);
let verified = 0;
for (const d of deliveries) {
  if (d.path === '/project' ? verifyProject(d) : await verifyPerRequest(d)) verified++;
}
check(deliveries.filter((d) => d.path === '/project').length >= 6, 'fewer project deliveries than jobs reported to it');
console.log(`${calls} calls, ${verified}/${deliveries.length} deliveries verified (${deliveries.filter((d) => d.path === '/project').length} project with standardwebhooks, the rest v1a)`);
finish();

function finish() {
  stopping = true;
  clearTimeout(deadline);
  emulator.kill('SIGTERM');
  receiver.close();
  receiver.closeAllConnections?.();
  if (failures.length) {
    console.error(`conformance: ${failures.length} failure(s)`);
    process.exit(1);
  }
  console.log('conformance: ok');
  process.exit(0);
}
