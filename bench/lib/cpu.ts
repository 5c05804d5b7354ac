import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of the processes a run depends on, from /proc (Linux). On a 2-core machine the
 * question "where does the time go" is mostly "who burns the CPU": the bench itself, the
 * actor node, the gateway, NATS, PostgreSQL (postmaster and every backend) or ClickHouse.
 * Elsewhere every reading is null and the report says so.
 */

const CLK_TCK = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may contain spaces: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { pid, ppid, ticks: utime + stime };
}

function allStats(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = readStat(Number(e));
    if (s) out.push(s);
  }
  return out;
}

/** CPU ms the whole machine has been busy (every core, every process), or null. */
function machineBusyMs(): number | null {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return null;
  }
  if (!line?.startsWith('cpu ')) return null;
  // user nice system idle iowait irq softirq steal ...
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return (busy * 1000) / CLK_TCK;
}

/**
 * CPU ms of each named process tree (the process and its live descendants), plus `machine`:
 * every core's busy time, so a delta shows how much CPU other work took during the run.
 */
export function cpuSnapshot(roots: Record<string, number | null | undefined>): Record<string, number | null> {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  // A named process that is the child of another (the actor node of the bench) counts once.
  const named = new Set(Object.values(roots).filter((p): p is number => typeof p === 'number'));
  const out: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(roots)) {
    const root = pid ? byPid.get(pid) : undefined;
    if (!root) {
      out[name] = null;
      continue;
    }
    let ticks = 0;
    const stack = [root];
    while (stack.length) {
      const s = stack.pop()!;
      ticks += s.ticks;
      for (const c of children.get(s.pid) ?? []) if (!named.has(c.pid)) stack.push(c);
    }
    out[name] = (ticks * 1000) / CLK_TCK;
  }
  out['machine'] = machineBusyMs();
  return out;
}

/** CPU ms spent between two snapshots, per name. */
export function cpuDelta(
  before: Record<string, number | null>,
  after: Record<string, number | null>,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name];
    out[name] = a === null || b === null || b === undefined ? null : a - b;
  }
  return out;
}

/**
 * CPU ms of this process's threads, summed by thread name (Linux: /proc/self/task), so a run can
 * say which of them spent the time: 'MainThread' (the event loop), 'WorkerThread' (worker_threads),
 * 'V8Worker' (the garbage collector's helpers), 'libuv-worker' (the thread pool). Empty elsewhere.
 */
export function threadCpuByName(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const t of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    } catch {
      continue;
    }
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) out.set(name, (out.get(name) ?? 0) + (ticks * 1000) / CLK_TCK);
  }
  return out;
}
