/// <reference lib="dom" />
import type { Scene } from '../scene.js';
import type { UiEvent } from '../events.js';
import type { Replay } from '../replay.js';
import { Chart, type Series } from './charts.js';
import { RobotView } from './viewer.js';

/**
 * The page: live curves from the run's metrics records, the daemon's status, and the 3D view fed
 * by live body poses or by a recorded evaluation replay. The same page serves `sacbridge view
 * RUN_DIR` (no live source: records and replays only) and `eval --video` (?still: no WebSocket;
 * frames are shown one by one through window.sacbridge).
 */

type Rec = Record<string, unknown> & { type?: string; step?: number };

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const records: Rec[] = [];
let view: RobotView | null = null;
let replay: { data: Replay; frame: number; timer: number } | null = null;
let framesShown = 0;
/** A daemon serves this page (it has a status), rather than `sacbridge view` of a run directory. */
let live = false;

const chartsEl = $('charts');
const charts = {
  returns: new Chart(chartsEl, 'return (episodes and evaluations)'),
  terms: new Chart(chartsEl, 'reward terms (per episode)'),
  losses: new Chart(chartsEl, 'losses'),
  alpha: new Chart(chartsEl, 'temperature alpha (log scale)', true),
  rate: new Chart(chartsEl, 'environment steps per second'),
};

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function series(name: string, pick: (r: Rec) => number | null, filter: (r: Rec) => boolean): Series {
  const x: number[] = [], y: number[] = [];
  for (const r of records) {
    if (!filter(r)) continue;
    const v = pick(r), s = num(r.step);
    if (v !== null && s !== null) {
      x.push(s);
      y.push(v);
    }
  }
  return { name, x, y };
}

/** Robot episodes are the daemon's fine-tuning records (phase 'robot'); the trainer's are sim. */
const isEpisode = (plant: string) => (r: Rec) => r.type === 'episode' && (r.phase === 'robot' || r.plant === 'robot' ? 'robot' : 'sim') === plant;

function drawCharts(): void {
  charts.returns.update([
    series('episode (sim)', (r) => num(r.return), isEpisode('sim')),
    series('episode (robot)', (r) => num(r.return), isEpisode('robot')),
    series('evaluation', (r) => num(r.mean_return), (r) => r.type === 'eval'),
  ]);
  // Reward terms per phase: the robot's episodes (with terms where the job records them) apart from sim's.
  const terms: Series[] = [];
  for (const plant of ['sim', 'robot']) {
    const has = (r: Rec): boolean => isEpisode(plant)(r) && typeof r.terms === 'object' && r.terms !== null;
    const names = [...new Set(records.flatMap((r) => (has(r) ? Object.keys(r.terms as object) : [])))];
    for (const t of names) terms.push(series(plant === 'sim' ? t : `${t} (robot)`, (r) => num((r.terms as Record<string, unknown>)[t]), has));
  }
  charts.terms.update(terms);
  // Sim: the trainer's update records. Robot: the learner's figures on each robot episode record.
  const lossNames = [...new Set(records.flatMap((r) => (r.type === 'update' ? Object.keys(r).filter((k) => k.endsWith('_loss')) : [])))];
  charts.losses.update([
    ...lossNames.map((k) => series(k, (r) => num(r[k]), (r) => r.type === 'update')),
    series('td_loss (robot)', (r) => num(r.td_loss), isEpisode('robot')),
  ]);
  charts.alpha.update([series('alpha', (r) => num(r.alpha), (r) => r.type === 'update'), series('alpha (robot)', (r) => num(r.alpha), isEpisode('robot'))]);
  // The robot's rate is its ticks per second of wall time, resets included.
  charts.rate.update([
    series('steps/s', (r) => num(r.steps_per_s), (r) => r.type === 'update' || isEpisode('sim')(r)),
    series('steps/s (robot)', (r) => num(r.steps_per_s), isEpisode('robot')),
  ]);
  const lastEval = [...records].reverse().find((r) => r.type === 'eval');
  if (lastEval !== undefined) $('eval').textContent = `${num(lastEval.mean_return)?.toFixed(1)} at ${lastEval.step}`;
  const last = records[records.length - 1];
  if (last !== undefined && typeof last.step === 'number') $('steps').textContent = String(last.step);
  document.body.dataset.records = String(records.length);
}

const KNOWN = new Set(['episode', 'update', 'eval']);
function addRecords(rs: Rec[]): void {
  records.push(...rs);
  // Checkpoints, resumes, warnings: events from the records. Safety events: a live daemon sends
  // them itself (as they happen); a finished run's come from its robot episodes' counters.
  for (const r of rs) {
    if (r.type !== undefined && !KNOWN.has(r.type)) event('record', `${r.type} at step ${r.step ?? '?'}${describe(r)}`);
    else if (r.type === 'episode' && !live) safetyEvents(r);
  }
  // An evaluation records a replay (RUN_DIR/replays/): offer it.
  if (document.body.dataset.ready === 'true' && rs.some((r) => r.type === 'eval')) {
    void loadReplays().then((names) => (names.length > 0 ? $('play').removeAttribute('disabled') : undefined));
  }
  drawCharts();
}

function describe(r: Rec): string {
  const extra = Object.entries(r).filter(([k]) => !['type', 'step', 'time'].includes(k));
  return extra.length === 0 ? '' : `: ${extra.map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')}`;
}

/** Robot episodes carry the safety layer's counters: an increase is a safety event. */
let lastSafety: Record<string, number> = {};
function safetyEvents(r: Rec): void {
  if (typeof r.safety !== 'object' || r.safety === null) return;
  const now = r.safety as Record<string, unknown>;
  const grew = Object.entries(now).filter(([k, v]) => k !== 'ticks' && typeof v === 'number' && v > (lastSafety[k] ?? 0)).map(([k, v]) => `${k} +${(v as number) - (lastSafety[k] ?? 0)}`);
  if (grew.length > 0) event('safety', `safety in episode ${r.episode ?? '?'} (step ${r.step ?? '?'}): ${grew.join(', ')}`);
  lastSafety = Object.fromEntries(Object.entries(now).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

/** Newest first; `kind` (phase, safety, record) is the item's data-kind. */
function event(kind: string, text: string, time = new Date()): void {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  li.textContent = `${time.toLocaleTimeString()} ${text}`;
  $('events').prepend(li);
  if (kind === 'safety') $('safety').textContent = text.replace(/^safety: /, '');
}

function serverEvent(e: UiEvent): void {
  event(e.kind, e.text, new Date(e.time));
}

function showStatus(s: unknown): void {
  if (s === null || typeof s !== 'object') return;
  const st = s as { phase?: string; jobStatus?: { envSteps?: number; extra?: Record<string, unknown> } };
  const extra = st.jobStatus?.extra ?? {};
  if (typeof st.phase === 'string') $('phase').textContent = st.phase;
  const acting = extra.actingPolicyVersion ?? extra.policyVersion;
  if (acting !== undefined && acting !== null) $('policy').textContent = String(acting);
  if (typeof extra.task === 'string') $('task').textContent = extra.task;
}

function showPoses(poses: ArrayLike<number>): void {
  if (view === null) return;
  view.setPoses(poses);
  framesShown++;
  document.body.dataset.frames = String(framesShown);
}

async function loadReplays(): Promise<string[]> {
  const names = (await (await fetch('/api/replays')).json()) as string[];
  const sel = $<HTMLSelectElement>('replays');
  sel.replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n, textContent: n.replace(/^eval-0*(\d+)\.json$/, 'evaluation at step $1') })));
  if (names.length > 0) sel.value = names[names.length - 1]!;
  return names;
}

/** Play a replay at its recorded speed; resolves when the last frame is shown. */
async function playReplay(name: string): Promise<void> {
  stopReplay();
  const data = (await (await fetch(`/api/replays/${encodeURIComponent(name)}`)).json()) as Replay;
  document.body.dataset.replayFrames = String(data.poses.length);
  view?.frame(data.poses);
  await new Promise<void>((resolve) => {
    const r = { data, frame: 0, timer: 0 };
    replay = r;
    const step = (): void => {
      showPoses(data.poses[r.frame]!);
      $('frame').textContent = `frame ${r.frame + 1}/${data.poses.length}, return ${data.return.toFixed(1)}`;
      document.body.dataset.replayFrame = String(r.frame + 1);
      r.frame++;
      if (r.frame >= data.poses.length) {
        replay = null;
        resolve();
        return;
      }
      r.timer = window.setTimeout(step, data.dt * 1000);
    };
    step();
  });
  document.body.dataset.replayDone = name;
}

function stopReplay(): void {
  if (replay !== null) window.clearTimeout(replay.timer);
  replay = null;
}

function connect(): void {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => {
    $('connection').textContent = 'live';
    $('connection').className = 'on';
  };
  ws.onclose = () => {
    $('connection').textContent = 'disconnected';
    $('connection').className = 'off';
    window.setTimeout(connect, 2000);
  };
  ws.onmessage = (e: MessageEvent<string>) => {
    const m = JSON.parse(e.data) as { type: string; records?: Rec[]; status?: unknown; event?: UiEvent; poses?: number[]; source?: string };
    if (m.type === 'records' && m.records) addRecords(m.records);
    else if (m.type === 'status') showStatus(m.status);
    else if (m.type === 'event' && m.event) serverEvent(m.event);
    else if (m.type === 'poses' && m.poses && replay === null) {
      showPoses(m.poses);
      $('frame').textContent = `live: ${m.source ?? 'plant'}`;
      document.body.dataset.liveSource = m.source ?? '';
    }
  };
}

async function main(): Promise<void> {
  // A video frame is the 3D view alone.
  if (params.has('still')) document.body.classList.add('still');
  const sceneRes = await fetch('/api/scene');
  if (sceneRes.ok) view = new RobotView($('scene'), (await sceneRes.json()) as Scene);
  else $('scene').textContent = ((await sceneRes.json()) as { error: string }).error;
  const status = (await (await fetch('/api/status')).json()) as unknown;
  live = status !== null;
  addRecords((await (await fetch('/api/records')).json()) as Rec[]);
  showStatus(status);
  for (const e of (await (await fetch('/api/events')).json()) as UiEvent[]) serverEvent(e);
  const names = await loadReplays();
  $('play').onclick = () => void playReplay($<HTMLSelectElement>('replays').value);
  $('live').onclick = () => stopReplay();
  if (names.length === 0) $('play').setAttribute('disabled', '');
  document.body.dataset.ready = 'true';
  if (!params.has('still')) connect();
}

/** For `eval --video` and tests: show replay frames one at a time, each drawn before it resolves. */
const api = {
  async loadReplay(name: string): Promise<{ frames: number; dt: number }> {
    stopReplay();
    const names = name === 'latest' ? await loadReplays() : [name];
    const data = (await (await fetch(`/api/replays/${encodeURIComponent(names[names.length - 1] ?? '')}`)).json()) as Replay;
    stepping = data;
    view?.frame(data.poses);
    return { frames: data.poses.length, dt: data.dt };
  },
  showFrame(i: number): void {
    if (stepping === null || view === null) throw new Error('no replay loaded or no 3D view');
    showPoses(stepping.poses[i]!);
    $('frame').textContent = `frame ${i + 1}/${stepping.poses.length}, return ${stepping.return.toFixed(1)}`;
    view.renderNow();
  },
};
let stepping: Replay | null = null;
(window as unknown as { sacbridge: typeof api }).sacbridge = api;

void main();
