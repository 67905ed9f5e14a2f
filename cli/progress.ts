// Progress lines on stderr: numbered steps with elapsed time, quiet when --quiet.

export class Progress {
  private step = 0;
  private readonly t0 = performance.now();
  constructor(private readonly total: number, private readonly quiet = false) {}

  /** Start step "[k/N] what…". */
  begin(what: string): void {
    this.step++;
    this.say(`[${this.step}/${this.total}] ${what}`);
  }

  /** A detail line under the current step. */
  note(what: string): void {
    this.say(`      ${what}`);
  }

  private say(line: string): void {
    if (this.quiet) return;
    const s = ((performance.now() - this.t0) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`${s}s ${line}\n`);
  }
}
