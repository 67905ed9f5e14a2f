// The readability facts find what they look for: a generated name, an alias, a bare mask word, a missing locator.
import { describe, expect, it } from 'vitest';
import { readability } from './readability.ts';

const good = `// leaf: a cell
// src: generators/x.ts:12
module leaf (
  input  wire [3:0] a,
  output wire [3:0] y
);
  wire [3:0] a_inv;

  assign a_inv = ~a;
  assign y = a_inv ^ a;

  // src: generators/x.ts:20
  cell u_c (
    .x(a)
  );
endmodule
`;
const mask = `// src: generators/m.ts:3
module m (
  output wire [15:0] w
);
  assign w[7:0] = 8'h1;  // word 0: layer 0 fc1 row 0
  assign w[15:8] = 8'h2;  // word 1: layer 0 fc1 row 1
endmodule
`;

describe('readability facts', () => {
  it('a clean module and mask: nothing found', () => {
    const r = readability(new Map([['base/leaf.v', good], ['mask-a/m.v', mask]]));
    expect(r).toEqual({ decls: 1, tNamed: 0, aliases: [], bareMaskWords: [], missingSrc: [], modules: 2, instances: 1 });
  });

  it('each defect is found and named', () => {
    const bad = good.replace('wire [3:0] a_inv;', 'wire [3:0] _t7;').replace('assign y = a_inv ^ a;', 'assign y = a_inv;').replace('  // src: generators/x.ts:20\n', '').replace('// src: generators/x.ts:12', '// src: /home/me/x.ts:12');
    const bareMask = mask.replace('  // word 1: layer 0 fc1 row 1', '').replace("assign w[7:0] = 8'h1;", "assign w[6:0] = 7'h1;");
    const r = readability(new Map([['base/leaf.v', bad], ['mask-a/m.v', bareMask]]));
    expect(r.tNamed).toBe(1);
    expect(r.aliases).toEqual(['base/leaf.v:10: assign y = a_inv;']);
    expect(r.bareMaskWords).toEqual(["mask-a/m.v:6: assign w[15:8] = 8'h2;", 'mask-a/m.v: output w: 15 of 16 bits assigned word by word']);
    expect(r.missingSrc).toEqual(['base/leaf.v:2: not a relative locator: // src: /home/me/x.ts:12', 'base/leaf.v: module leaf', 'base/leaf.v:12: instance u_c']);
  });
});
