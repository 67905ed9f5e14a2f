// User-facing errors: one clear line, a fixed exit code, never a stack trace.

/** Exit codes of gen-rtl, documented in README.md. */
export const EXIT = {
  ok: 0,
  /** Internal bug (unexpected exception). */
  internal: 1,
  /** Bad input file: safetensors, config.json, calibration data. */
  badInput: 2,
  /** Bad command-line usage (unknown option, missing argument). */
  usage: 3,
  /** Verification failed: lint warning or RTL/golden mismatch. */
  verifyFailed: 4,
  /** A required external tool (verilator, yosys, iverilog) is missing or failed. */
  toolFailed: 5,
} as const;

/** An error caused by the user's input; printed as one line, exit code `code`. */
export class UserError extends Error {
  constructor(message: string, readonly code: number = EXIT.badInput) {
    super(message);
    this.name = 'UserError';
  }
}

/** A required external tool failed or is missing. */
export class ToolError extends UserError {
  constructor(message: string) {
    super(message, EXIT.toolFailed);
    this.name = 'ToolError';
  }
}
