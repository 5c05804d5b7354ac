import type { ServiceSchema } from 'moleculer';
import { kindService } from '../membership.ts';
import { CameraHost, type CameraDeps, type CameraHealth } from './camera.host.ts';

export const CAMERA_SERVICE = 'camera';

/** The camera actors as a Moleculer service (see camera.host.ts). */
export function cameraService(deps: CameraDeps): ServiceSchema {
  return kindService(CAMERA_SERVICE, deps.log, (membership) => new CameraHost(deps, membership));
}

export type { CameraHealth };
