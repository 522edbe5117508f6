/**
 * A live level of the far end's audio: a WebAudio analyser on the remote
 * stream, read every 50 ms (timers keep running where animation frames
 * stop, e.g. in a background tab), as RMS in dBFS. (Chromium's getStats
 * audio levels stay 0 in headless runs; the analyser sees the real samples.)
 */
export class LevelMeter {
  #context: AudioContext | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly onLevel: (dbfs: number, rms: number) => void) {}

  start(stream: MediaStream): void {
    this.stop();
    const context = new AudioContext();
    this.#context = context;
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = (): void => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      this.onLevel(rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100, rms);
    };
    // A context made outside a user gesture may start suspended.
    void context.resume().catch(() => undefined);
    this.#timer = setInterval(tick, 50);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    void this.#context?.close().catch(() => undefined);
    this.#context = undefined;
    this.onLevel(-100, 0);
  }
}
