/**
 * The video side of a camera: decode (node-av) → sample → letterbox (FFmpeg filters) → detect
 * (onnxruntime in worker threads) → detections in frame order. Also the project's own test
 * assets: synthetic scenes with ground truth and a detector built in code.
 */
export {
  CameraVideo,
  type CameraVideoOptions,
  type DetectionsFrame,
  type FrameDetection,
  type VideoHealth,
  type VideoState,
} from './camera-video.ts';
export {
  DetectorPool,
  ModelError,
  type DetectOutcome,
  type ModelInfo,
  type PoolStats,
} from './detector-pool.ts';
export { sessionOptions, type Detection } from './detect.protocol.ts';
export { bundleWorker } from './worker-script.ts';
export { letterbox, letterboxFilter, toFrame, type Letterbox, type NormBox } from './letterbox.ts';
export { FrameSampler, backoffMs } from './sampler.ts';
export {
  openVideo,
  InputBuffers,
  isNetworkUrl,
  VideoSourceError,
  type SampledFrame,
  type VideoSourceOptions,
} from './video-source.ts';
export {
  decodeYolo,
  nms,
  yoloOutputShape,
  YoloShapeError,
  type RawDetection,
  type YoloDecodeOptions,
} from './yolo.ts';
export { appearance } from './appearance.ts';
export { GraphBuilder } from './onnx/graph.ts';
export { buildShapeDetector, DETECTOR_GRID, SHAPE_COLOURS } from './onnx/shape-detector.ts';
export {
  buildYoloArchitecture,
  type YoloArchitecture,
  type YoloArchitectureOptions,
  type YoloScale,
} from './onnx/yolov8-architecture.ts';
export {
  groundTruth,
  frameCount,
  personBox,
  SHIRT_RGB,
  type Scene,
  type ScenePerson,
  type TruthBox,
} from './synthetic/scene.ts';
export { SCENES, type SceneName } from './synthetic/scenes.ts';
export { renderFrame } from './synthetic/render.ts';
export { writeSceneVideo } from './synthetic/encode.ts';
