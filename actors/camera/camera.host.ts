import { subscribeControl, type Subscription } from '../../streams/mod.ts';
import type { Logger, Pool } from '../../schemas/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { ActorKernel, type KernelHealth, type KernelOf, type KernelOptions } from '../kernel/mod.ts';
import { cameraKind, zonesCurrent, type CameraKind } from './camera.kind.ts';
import { loadCameraSetup } from './camera.repo.ts';

/**
 * The camera actors of this node: the camera kind (camera.kind.ts) on the actor kernel, plus
 * what is the cameras' own — zone changes reaching live actors. A zone edited through the API
 * announces `ctl.camera.changed` (action `zones`); the camera's actor, if this node hosts it,
 * reloads its zones and applies them as a command under its partition's lock, so the change
 * sits at one exact place between two frames. Missed notices are caught by the periodic reload.
 */
export interface CameraDeps extends NodeDeps {
  /** `vigil_worker` pool. */
  pool: Pool;
}

export interface CameraHostOptions extends KernelOptions {
  /** Re-read a camera's zones this often even without a notice. */
  zonesRefreshMs?: number;
}

export type CameraHealth = KernelHealth;

type CameraKernel = KernelOf<CameraKind>;

export class CameraHost {
  readonly #deps: CameraDeps;
  readonly #log: Logger;
  readonly #kernel: CameraKernel;
  #subs: Subscription[] = [];

  constructor(deps: CameraDeps, opts: CameraHostOptions) {
    this.#deps = deps;
    this.#log = deps.log;
    const kind = cameraKind({
      js: deps.js,
      names: deps.names,
      config: deps.config,
      setup: (ref) => loadCameraSetup(deps.pool, ref.tenantId, ref.cameraId),
      refreshMs: opts.zonesRefreshMs ?? 60_000,
    });
    this.#kernel = new ActorKernel(
      kind,
      {
        nc: deps.nc,
        js: deps.js,
        jsm: deps.jsm,
        kv: deps.kv,
        names: deps.names,
        log: deps.log,
        partitions: deps.config.VIGIL_PARTITIONS,
      },
      opts,
    );
  }

  /** The kernel hosting the actors: live-state queries and control go through it. */
  get kernel(): CameraKernel {
    return this.#kernel;
  }

  async reclaim(): Promise<void> {
    await this.#listen();
    await this.#kernel.reclaim();
  }

  async start(): Promise<void> {
    await this.#listen();
    this.#kernel.start();
  }

  async #listen(): Promise<void> {
    if (this.#subs.length) return;
    const { nc, names } = this.#deps;
    this.#subs.push(
      subscribeControl(nc, names, 'cameraChanged', this.#log, (b) => {
        if (b.action === 'zones' || b.action === 'updated') return this.#reloadZones(b.cameraId);
        return undefined;
      }),
    );
    await nc.flush();
  }

  scheduleRebalance(): void {
    this.#kernel.scheduleRebalance();
  }

  async stop(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    await this.#kernel.stop();
  }

  health(): CameraHealth {
    return this.#kernel.health();
  }

  /** A camera's zones changed: reload them into its live actor, if this node hosts it. */
  async #reloadZones(cameraId: string): Promise<void> {
    try {
      const applied = await this.#kernel.control(cameraId, async (a) => {
        const setup = await loadCameraSetup(this.#deps.pool, a.ref.tenantId, cameraId);
        // Deleted: its frames stop; the next reload dead-letters any that still come.
        if (!setup) return null;
        a.context = setup;
        return zonesCurrent(a.state, setup) ? null : { type: 'set_zones', data: { zones: setup.zones } };
      });
      if (applied) this.#log.debug({ cameraId }, 'zones reloaded');
    } catch (err) {
      // The actor reloads its zones at its next refresh anyway.
      this.#log.warn({ err, cameraId }, 'reloading zones failed');
    }
  }
}
