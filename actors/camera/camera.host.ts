import { subscribeControl, type Subscription } from '../../streams/mod.ts';
import type { Pool } from '../../schemas/mod.ts';
import { kernelDeps, type NodeDeps } from '../deps.ts';
import {
  ActorKernel,
  KernelHost,
  type KernelHealth,
  type KernelOf,
  type KernelOptions,
} from '../kernel/mod.ts';
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

export class CameraHost extends KernelHost<KernelOf<CameraKind>> {
  readonly #deps: CameraDeps;

  constructor(deps: CameraDeps, opts: CameraHostOptions) {
    const kind = cameraKind({
      js: deps.js,
      names: deps.names,
      config: deps.config,
      setup: (ref) => loadCameraSetup(deps.pool, ref.tenantId, ref.cameraId),
      refreshMs: opts.zonesRefreshMs ?? 60_000,
    });
    super(new ActorKernel(kind, kernelDeps(deps), opts), deps.nc);
    this.#deps = deps;
  }

  protected override follow(): Subscription[] {
    const { nc, names, log } = this.#deps;
    return [
      subscribeControl(nc, names, 'cameraChanged', log, (b) => {
        if (b.action === 'zones' || b.action === 'updated') return this.#reloadZones(b.cameraId);
        return undefined;
      }),
    ];
  }

  /** A camera's zones changed: reload them into its live actor, if this node hosts it. */
  async #reloadZones(cameraId: string): Promise<void> {
    const { pool, log } = this.#deps;
    try {
      const applied = await this.kernel.control(cameraId, async (a) => {
        const setup = await loadCameraSetup(pool, a.ref.tenantId, cameraId);
        // Deleted: its frames stop; the next reload dead-letters any that still come.
        if (!setup) return null;
        a.context = setup;
        return zonesCurrent(a.state, setup) ? null : { type: 'set_zones', data: { zones: setup.zones } };
      });
      if (applied) log.debug({ cameraId }, 'zones reloaded');
    } catch (err) {
      // The actor reloads its zones at its next refresh anyway.
      log.warn({ err, cameraId }, 'reloading zones failed');
    }
  }
}
