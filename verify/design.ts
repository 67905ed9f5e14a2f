// Glue between an emitted design and the tools: write files, derive the Verilator port spec.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IrModule } from '../dsl/ir/types.ts';
import type { EmittedDesign } from '../dsl/verilog.ts';
import type { SimSpec } from './verilator.ts';

/** Write every emitted file into `dir`; returns the Verilog paths in compile order. */
export function writeDesign(d: EmittedDesign, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of d.files) writeFileSync(join(dir, name), text);
  return d.order.map((f) => join(dir, f));
}

/** The co-simulation port spec of a top module (its single clock, if any, is pulsed each record). */
export function simSpecOf(top: IrModule, files: string[], opts: { trace?: boolean } = {}): SimSpec {
  const clocks = top.ports.filter((p) => p.clock);
  if (clocks.length > 1) throw new Error(`module '${top.name}': co-simulation supports one clock, found ${clocks.map((c) => c.name).join(', ')}`);
  return {
    top: top.name,
    files,
    ports: top.ports.map((p) => ({ name: p.name, dir: p.dir, width: p.width })),
    clock: clocks[0]?.name,
    trace: opts.trace,
  };
}
