/**
 * Letterbox geometry shared by the native resize (an FFmpeg filter graph) and the mapping of
 * detector boxes back onto the frame: both must use exactly the same numbers.
 */
export interface Letterbox {
  /** Source frame size. */
  width: number;
  height: number;
  /** Square model input side. */
  size: number;
  scale: number;
  /** Scaled image size and its offset inside the padded square. */
  scaledWidth: number;
  scaledHeight: number;
  padX: number;
  padY: number;
}

/** Ultralytics pads with grey 114. */
export const LETTERBOX_PAD_RGB = 114;

export function letterbox(width: number, height: number, size: number): Letterbox {
  const scale = Math.min(size / width, size / height);
  const scaledWidth = Math.max(1, Math.min(size, Math.round(width * scale)));
  const scaledHeight = Math.max(1, Math.min(size, Math.round(height * scale)));
  return {
    width,
    height,
    size,
    scale,
    scaledWidth,
    scaledHeight,
    padX: Math.floor((size - scaledWidth) / 2),
    padY: Math.floor((size - scaledHeight) / 2),
  };
}

/**
 * FFmpeg filter description that letterboxes any decoded frame into planar float RGB (GBR plane
 * order, as FFmpeg names it) of `size`×`size`, values 0..1 — the model's input, made natively.
 */
export function letterboxFilter(lb: Letterbox): string {
  const pad = LETTERBOX_PAD_RGB.toString(16).padStart(2, '0');
  return [
    `scale=w=${lb.scaledWidth}:h=${lb.scaledHeight}:flags=bilinear`,
    'format=rgb24',
    `pad=w=${lb.size}:h=${lb.size}:x=${lb.padX}:y=${lb.padY}:color=0x${pad}${pad}${pad}`,
    'format=gbrpf32le',
  ].join(',');
}

export interface NormBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** A box in model-input pixels (corners) → the same box in the frame, normalised to 0..1. */
export function toFrame(lb: Letterbox, x1: number, y1: number, x2: number, y2: number): NormBox {
  const fx = (v: number): number => clamp01((v - lb.padX) / lb.scale / lb.width);
  const fy = (v: number): number => clamp01((v - lb.padY) / lb.scale / lb.height);
  return { x1: fx(x1), y1: fy(y1), x2: fx(x2), y2: fy(y2) };
}
