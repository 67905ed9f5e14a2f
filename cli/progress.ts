// Progress lines on stderr: numbered steps with elapsed time, quiet when --quiet. A step that runs for
// more than 10 s without a line gets a heartbeat ("… still <step>, 40 s in this step") every 10 s, so a
// long Yosys run or Verilator build never looks hung; with an estimate from earlier runs (durations.ts)
// it also says how long the step is expected to take.
import { statSync } from 'node:fs';
import { expectedSeconds, recordSeconds } from './durations.ts';

export class Progress {
  private step = 0;
  private readonly t0 = performance.now();
  private what = '';
  private stepStart = 0;
  private lastLine = 0;
  private timer: NodeJS.Timeout | undefined;
  private expectation: { seconds: number; step: number } | undefined;
  constructor(private readonly total: number, private readonly quiet = false, private readonly heartbeatMs = 10_000) {}

  /** Start step "[k/N] what…". */
  begin(what: string): void {
    this.step++;
    this.what = what;
    this.stepStart = performance.now();
    this.say(`[${this.step}/${this.total}] ${what}`);
    if (!this.quiet && !this.timer) {
      this.timer = setInterval(() => this.beat(), Math.min(1000, this.heartbeatMs));
      this.timer.unref(); // never keeps the process alive
    }
  }

  /**
   * Run `work` (a Yosys run, a Verilator build: `kind`) on `files`, with the heartbeat saying how long
   * runs of that kind took here per byte of input before, and remember this one's time. A cached
   * result (`fast`) is not recorded.
   */
  async timed<T>(kind: string, files: readonly string[], work: () => Promise<T>, fast?: (r: T) => boolean): Promise<T> {
    let bytes = 0;
    for (const f of files) {
      try {
        bytes += statSync(f).size;
      } catch {
        // a file that is not there yet only makes the estimate smaller
      }
    }
    const expect = expectedSeconds(kind, bytes);
    if (expect !== undefined) this.expectation = { seconds: expect, step: this.step };
    const t = performance.now();
    try {
      const r = await work();
      if (!fast?.(r)) recordSeconds(kind, bytes, (performance.now() - t) / 1000);
      return r;
    } finally {
      this.expectation = undefined;
    }
  }

  /** A detail line under the current step. */
  note(what: string): void {
    this.say(`      ${what}`);
  }

  /** Stops the heartbeat (the flows call it when they finish; an unref'd timer also dies with the process). */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const now = performance.now();
    if (now - this.lastLine < this.heartbeatMs) return;
    const short = this.what.length > 60 ? `${this.what.slice(0, 57)}…` : this.what;
    const e = this.expectation?.step === this.step ? this.expectation.seconds : undefined;
    const est = e === undefined ? '' : `, ~${e < 60 ? `${Math.max(1, Math.round(e))} s` : `${(e / 60).toFixed(1)} min`} expected from earlier runs here`;
    this.say(`      … still ${short} (${((now - this.stepStart) / 1000).toFixed(0)} s in this step${est})`);
  }

  private say(line: string): void {
    if (this.quiet) return;
    this.lastLine = performance.now();
    const s = ((this.lastLine - this.t0) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`${s}s ${line}\n`);
  }
}
