// The public entry point, `import { ... } from 'hardwire'`: the DSL, the grid DSL, cell and arithmetic
// generators, and the verify drivers. Names are listed one by one (no `export *`) so that the API is a
// deliberate choice; index.test.ts fails on any function, class, interface or public class method here
// without a doc comment.
//
//   import { Evaluator, ModuleBuilder, emitDesign } from 'hardwire';
//   const m = new ModuleBuilder('add1');
//   m.output('y', m.input('a', 8).add(1));
//   const top = m.build();
//   new Evaluator(top).step([41n]);    // [42n]: one cycle in the built-in evaluator
//   emitDesign(top).files;             // add1.v and add1.f
//
// A whole example (a cell, an array of it, a valid/ready stream, a test): examples/custom-cell/.

// ---- The DSL: signals, modules, the IR, the evaluator, Verilog emission ----
export { DslError, Signal, describe as describeSignal, type Operand } from './dsl/signal.ts';
export { ModuleBuilder, Wire, Reg, type RegOptions } from './dsl/module.ts';
export { Evaluator, flatten } from './dsl/eval.ts';
export { emitDesign, printModule, type EmittedDesign } from './dsl/verilog.ts';
export { IrCheckError, runChecks, outputDependsOn, type CheckPhase } from './dsl/ir/checks.ts';
export { collectModules, mask, toSigned } from './dsl/ir/types.ts';
export type { Driver, IrInstance, IrModule, IrNet, IrPort, IrRam, IrRamPort, IrRom, NetId, OpKind } from './dsl/ir/types.ts';

// ---- The grid DSL: describe a base grid, build its cells, lanes and lane array ----
export { defineGrid, loadGrid, DEFAULT_GRID, DIE_GRID, TINY_LLAMA_GRID, type EngineCaps, type GridInput, type GridSpec } from './generators/grid/grid.ts';
export { cellFormat, gridModule, laneLatency, laneModule, romMulCell, type CellFormat } from './generators/grid/base.ts';

// ---- Generators: exact-width arithmetic blocks and multiplier cells ----
export {
  addRanged, adderTree, argmaxStages, argmaxTree, constRanged, csdMul, fitSigned, ranged, requantBy, requantUnit, stage,
  treeLevels, treeStages, type Pipe, type Ranged, type TreeResult,
} from './generators/mlp/arith.ts';
export { constMulCell, genericMulCell, productRange } from './generators/mlp/cells.ts';
export { csd, csdValue, type CsdDigit } from './generators/mlp/csd.ts';
export { signedBitsFor } from './verify/golden/mlp.ts';

// ---- Verify drivers: lint, Icarus, Verilator, Yosys ----
export { LintError, lintEach, lintVerilog, readFileList } from './verify/lint.ts';
export { compileIcarus, runIcarusVectors, type IcarusRunOptions } from './verify/icarus.ts';
export { buildSim, VerilatedSim, type BuildOptions, type PortSpec, type SimSpec } from './verify/verilator.ts';
export { yosysGateCount, type GateCount } from './verify/yosys.ts';
export { simSpecOf, writeDesign } from './verify/design.ts';
export { findTool, whichTool, toolVersion } from './verify/tools.ts';

// ---- Errors the API throws ----
export { ToolError, UserError } from './core/errors.ts';
