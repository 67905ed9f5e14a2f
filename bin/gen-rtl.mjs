#!/usr/bin/env node
// gen-rtl entry point: loads the TypeScript sources through tsx (no build step) and runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
// Exit now, not when the event loop drains: a tool still running after a failed step (Yosys runs beside
// the co-simulation) is killed by the exit handler of verify/tools.ts instead of being waited for.
process.exit(await main(process.argv.slice(2)));
