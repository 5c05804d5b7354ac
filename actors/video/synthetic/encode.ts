import { Encoder, Muxer } from 'node-av/api';
import { AV_PIX_FMT_RGB24, FF_ENCODER_LIBX264 } from 'node-av/constants';
import { Frame } from 'node-av/lib';
import { renderFrame } from './render.ts';
import { frameCount, type Scene } from './scene.ts';

/**
 * Writes the scene as a real H.264 video (Matroska or MP4 by the file's extension), one key
 * frame per second so a stream can be joined mid-way. Returns the number of frames written.
 */
export async function writeSceneVideo(scene: Scene, path: string): Promise<number> {
  const timeBase = { num: 1, den: scene.fps };
  // Time base and size come from the first frame.
  const encoder = await Encoder.create(FF_ENCODER_LIBX264, {
    gopSize: scene.fps,
    maxBFrames: 0,
    autoFormat: true,
    options: { preset: 'ultrafast', crf: 16, tune: 'zerolatency' },
  });
  const muxer = await Muxer.open(path);
  try {
    const stream = muxer.addStream(encoder);
    const rgb = Buffer.alloc(scene.width * scene.height * 3);
    const frames = frameCount(scene);
    for (let i = 0; i < frames; i++) {
      renderFrame(scene, i / scene.fps, rgb);
      const frame = Frame.fromVideoBuffer(rgb, {
        width: scene.width,
        height: scene.height,
        format: AV_PIX_FMT_RGB24,
        timeBase,
      });
      frame.pts = BigInt(i);
      try {
        for (const packet of await encoder.encodeAll(frame)) {
          await muxer.writePacket(packet, stream);
          packet.free();
        }
      } finally {
        frame.free();
      }
    }
    for await (const packet of encoder.flushPackets()) {
      await muxer.writePacket(packet, stream);
      packet.free();
    }
    return frames;
  } finally {
    await muxer.close();
    encoder.close();
  }
}
