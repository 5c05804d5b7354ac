/**
 * A small appearance descriptor for re-identification: mean colour of the upper and lower half
 * of the box's inner part (edges trimmed, where background bleeds in). Six numbers, 0..1, read
 * from the model input the detector already has, at most 12×12 samples per half. Boxes only, no
 * face or identity data: the descriptor tells two shirts apart, not two people.
 */
export function appearance(
  input: Float32Array,
  size: number,
  box: { x1: number; y1: number; x2: number; y2: number },
): number[] {
  const plane = size * size;
  const x1 = Math.max(0, Math.floor(box.x1 + (box.x2 - box.x1) * 0.25));
  const x2 = Math.min(size, Math.ceil(box.x2 - (box.x2 - box.x1) * 0.25));
  const top = Math.max(0, Math.floor(box.y1 + (box.y2 - box.y1) * 0.15));
  const bottom = Math.min(size, Math.ceil(box.y2 - (box.y2 - box.y1) * 0.1));
  const mid = Math.round((top + bottom) / 2);
  const out: number[] = [];
  for (const [y1, y2] of [
    [top, mid],
    [mid, bottom],
  ] as const) {
    const sx = Math.max(1, Math.floor((x2 - x1) / 12));
    const sy = Math.max(1, Math.floor((y2 - y1) / 12));
    const sum = [0, 0, 0];
    let n = 0;
    for (let y = y1; y < y2; y += sy)
      for (let x = x1; x < x2; x += sx) {
        const o = y * size + x;
        sum[0]! += input[o]!;
        sum[1]! += input[plane + o]!;
        sum[2]! += input[2 * plane + o]!;
        n++;
      }
    for (const s of sum) out.push(n ? s / n : 0);
  }
  return out;
}
