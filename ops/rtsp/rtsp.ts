import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../stack/config.ts';
import { StackError } from '../stack/errors.ts';

/** Base port of the test/demo RTSP server; shifted by VIGIL_PORT_OFFSET like every stack port. */
export const RTSP_BASE_PORT = 18554;

export function rtspPort(env: NodeJS.ProcessEnv = process.env): number {
  const offset = Number(env['VIGIL_PORT_OFFSET'] ?? 0);
  return RTSP_BASE_PORT + (Number.isInteger(offset) ? offset : 0);
}

export interface RtspServer {
  port: number;
  pid: number;
  url(mount: string): string;
  /** SIGTERM and wait; `kill` SIGKILLs instead (a camera that drops without a goodbye). */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

// Debian's interpreter: python3-gi is installed for it, not for a pyenv or venv one on PATH.
const SCRIPT = path.join(REPO_ROOT, 'ops', 'rtsp', 'rtsp-server.py');

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port nothing listens on now, as the system hands them out. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's GStreamer RTSP server (ops/rtsp/rtsp-server.py, through python3-gi) serving
 * each H.264 Matroska file at rtsp://127.0.0.1:<port>/<mount>, and resolves once it accepts
 * connections. The packages come with the embedded stack (ops/stack/packages.ts). A session
 * ends at the end of its file (a camera dropping its stream), unless `loop`: then the file
 * plays forever with timestamps running on, like a live camera (the demo's). `port` 0: a free
 * one (tests running side by side); default: the stack's RTSP port.
 */
export async function startRtspServer(opts: {
  mounts: Record<string, string>;
  port?: number;
  loop?: boolean;
  timeoutMs?: number;
}): Promise<RtspServer> {
  const port = opts.port === 0 ? await freePort() : (opts.port ?? rtspPort());
  const args = [SCRIPT, '--port', String(port)];
  if (opts.loop) args.push('--loop');
  for (const [name, file] of Object.entries(opts.mounts)) args.push('--mount', `${name}=${file}`);
  const child: ChildProcess = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await accepts(port))) {
    if (gone) throw new StackError('START_FAILED', `rtsp server exited: ${stderr.trim() || 'no output'}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StackError('UNHEALTHY', `rtsp server not listening on ${port}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: child.pid ?? -1,
    url: (mount) => `rtsp://127.0.0.1:${port}/${mount}`,
    async stop({ kill = false } = {}) {
      if (!gone) child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
  };
}
