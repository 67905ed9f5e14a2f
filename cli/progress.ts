// Progress lines on stderr: numbered steps with elapsed time, quiet when --quiet. A step that runs for
// more than 10 s without a line gets a heartbeat ("… still <step>, 40 s in this step") every 10 s, so a
// long Yosys run or Verilator build never looks hung.

export class Progress {
  private step = 0;
  private readonly t0 = performance.now();
  private what = '';
  private stepStart = 0;
  private lastLine = 0;
  private timer: NodeJS.Timeout | undefined;
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
    this.say(`      … still ${short} (${((now - this.stepStart) / 1000).toFixed(0)} s in this step)`);
  }

  private say(line: string): void {
    if (this.quiet) return;
    this.lastLine = performance.now();
    const s = ((this.lastLine - this.t0) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`${s}s ${line}\n`);
  }
}
