/**
 * A minimal server-sent-events client over fetch, for measuring: each frame is stamped with
 * `performance.now()` when its bytes arrive (before parsing), so the figure is what a browser
 * would see, not what our parser costs.
 */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  /** performance.now() when the chunk holding the end of this frame arrived. */
  receivedAt: number;
}

export class SseClient {
  readonly status: number;
  readonly #abort: AbortController;
  /** Settles when the stream ends; never rejects (see `error`). */
  readonly done: Promise<void>;
  /** The stream ended (server closed it, or close() was called). */
  ended = false;
  /** Why the stream broke, when it did not end by close(). */
  error: unknown = null;

  private constructor(res: Response, abort: AbortController, onFrame: (f: SseFrame) => void) {
    this.status = res.status;
    this.#abort = abort;
    this.done = this.#read(res, onFrame);
  }

  static async open(url: string, token: string, onFrame: (f: SseFrame) => void): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    if (res.status !== 200) {
      const body = await res.text().catch(() => '');
      abort.abort();
      throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`);
    }
    return new SseClient(res, abort, onFrame);
  }

  async #read(res: Response, onFrame: (f: SseFrame) => void): Promise<void> {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        const receivedAt = performance.now();
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = { receivedAt };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            if (i < 0) continue;
            const field = line.slice(0, i);
            const value = line.slice(i + 1).replace(/^ /, '');
            if (field === 'id' || field === 'event' || field === 'data') frame[field] = value;
          }
          if (frame.data !== undefined) onFrame(frame);
        }
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) this.error = err;
    } finally {
      this.ended = true;
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }
}
