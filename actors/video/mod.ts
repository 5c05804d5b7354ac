/**
 * The video side of a camera: decode (node-av) → sample → letterbox (FFmpeg filters) → detect
 * (onnxruntime in worker threads) → detections in frame order. Also the project's own test
 * assets: synthetic scenes with ground truth and a detector built in code.
 */
export { CameraVideo, type DetectionsFrame, type VideoState } from './camera-video.ts';
export { DetectorPool, ModelError, type DetectOutcome } from './detector-pool.ts';
export { sessionOptions } from './detect.protocol.ts';
export { bundleWorker } from './worker-script.ts';
export { letterbox, toFrame } from './letterbox.ts';
export { LatestPicture, type Picture } from './picture.ts';
export { FrameSampler, backoffMs } from './sampler.ts';
export { openVideo, VideoSourceError, type SessionCount } from './video-source.ts';
export { decodeYolo, nms, yoloOutputShape, YoloShapeError } from './yolo.ts';
export { GraphBuilder } from './onnx/graph.ts';
export { buildShapeDetector } from './onnx/shape-detector.ts';
export { buildYoloArchitecture } from './onnx/yolov8-architecture.ts';
export {
  groundTruth,
  SHIRT_RGB,
  type Scene,
  type ScenePerson,
  type ShirtColour,
  type TruthBox,
} from './synthetic/scene.ts';
export { SCENES, type SceneName } from './synthetic/scenes.ts';
export { renderFrame } from './synthetic/render.ts';
export { writeSceneVideo } from './synthetic/encode.ts';
