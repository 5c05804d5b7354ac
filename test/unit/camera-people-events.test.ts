/**
 * What a camera actor publishes and what the people sink stores, given the decider's events:
 * the mapping onto `people.*` / `camera.*` events (ids derived from the cause, so a replayed frame
 * republishes the same ids) and onto ClickHouse rows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outboundEvents, type CameraEvent } from '../../actors/camera/mod.ts';
import { toPeopleRows } from '../../actors/mod.ts';
import { assertValid, VigilEvent, type PeopleEvent } from '../../schemas/mod.ts';

const cam = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  siteId: '22222222-2222-4222-8222-222222222222',
  cameraId: '33333333-3333-4333-8333-333333333333',
  entrances: new Set(['44444444-4444-4444-8444-444444444444']),
};
const door = '44444444-4444-4444-8444-444444444444';
const shelf = '55555555-5555-4555-8555-555555555555';

describe('camera events leaving the actor', () => {
  test('given zone, track and bookkeeping events → when mapped → then only people and camera events, valid, ids from their cause', () => {
    const decided: CameraEvent[] = [
      { type: 'track_started', data: { trackId: 7, ts: 1_000 } },
      { type: 'entry', data: { zoneId: door, trackId: 7, ts: 1_040 } },
      { type: 'zone_entry', data: { zoneId: shelf, trackId: 7, ts: 2_000 } },
      { type: 'occupancy', data: { zoneId: shelf, ts: 2_200, count: 1 } },
      { type: 'product_interaction', data: { zoneId: shelf, trackId: 7, ts: 4_000, dwellSeconds: 2 } },
      { type: 'zone_exit', data: { zoneId: shelf, trackId: 7, ts: 6_500, dwellSeconds: 4.5 } },
      { type: 'crowding_started', data: { zoneId: shelf, ts: 3_000, count: 3, since: 2_000 } },
      {
        type: 'track_ended',
        data: { trackId: 7, firstSeen: 1_000, lastSeen: 9_000, frames: 40, reidentified: 1 },
      },
    ];
    const out = outboundEvents(decided, cam);
    for (const e of out) assertValid(VigilEvent, e);
    assert.deepEqual(
      out.map((e) => [e.type, e.id]),
      [
        ['people.entry', `${cam.cameraId}.entry.${door}.7.1040`],
        ['people.zone_entry', `${cam.cameraId}.zone_entry.${shelf}.7.2000`],
        ['people.occupancy', `${cam.cameraId}.occupancy.${shelf}.2200`],
        ['people.product_interaction', `${cam.cameraId}.product_interaction.${shelf}.7.4000`],
        ['people.zone_exit', `${cam.cameraId}.zone_exit.${shelf}.7.6500`],
        ['people.crowding_started', `${cam.cameraId}.crowding_started.${shelf}.3000`],
        ['camera.track_ended', `${cam.cameraId}.track_ended.7.1000`],
      ],
    );
    const entry = out[0] as PeopleEvent;
    assert.equal(entry.data.entrance, true, 'a crossing of an entrance line is footfall');
    assert.equal((out[1] as PeopleEvent).data.entrance, false);
    assert.equal((out[4] as PeopleEvent).data.dwellSeconds, 4.5);
    // The same decided events map to the same ids: a replay is deduplicated by the stream.
    assert.deepEqual(
      outboundEvents(decided, cam).map((e) => e.id),
      out.map((e) => e.id),
    );
  });

  test('given a zone exit and a track summary → when stored → then one people_events row and one track_summaries row', () => {
    const [exit, ended] = outboundEvents(
      [
        { type: 'zone_exit', data: { zoneId: shelf, trackId: 3, ts: 1_700_000_006_500, dwellSeconds: 4.5 } },
        {
          type: 'track_ended',
          data: {
            trackId: 3,
            firstSeen: 1_700_000_000_000,
            lastSeen: 1_700_000_009_000,
            frames: 45,
            reidentified: 0,
          },
        },
      ],
      cam,
    );
    assert.deepEqual(toPeopleRows(exit!), {
      event: {
        tenant_id: cam.tenantId,
        site_id: cam.siteId,
        camera_id: cam.cameraId,
        event_id: exit!.id,
        kind: 'zone_exit',
        zone_id: shelf,
        entrance: 0,
        track_id: 3,
        at: 1_700_000_006,
        at_ms: 1_700_000_006_500,
        dwell_s: 4.5,
        occupancy: null,
      },
    });
    assert.deepEqual(toPeopleRows(ended!), {
      track: {
        tenant_id: cam.tenantId,
        site_id: cam.siteId,
        camera_id: cam.cameraId,
        track_id: 3,
        first_seen: 1_700_000_000,
        first_seen_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_009_000,
        duration_s: 9,
        frames: 45,
        reidentified: 0,
      },
    });
  });
});
