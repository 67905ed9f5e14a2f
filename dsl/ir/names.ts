// Verilog identifier rules: port names must already be legal (an error otherwise); internal names are legalized.

/** Verilog-2005 and SystemVerilog-2017 reserved words (Verilator parses .v as SystemVerilog by default). */
const KEYWORDS = new Set(`accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin
bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos config const
constraint context continue cover covergroup coverpoint cross deassign default defparam design disable dist do edge else end
endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface endmodule endpackage
endprimitive endprogram endproperty endspecify endsequence endtable endtask enum event eventually expect export extends
extern final first_match for force foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone
ignore_bins illegal_bins implements implies import incdir include initial inout input inside instance int integer
interconnect interface intersect join join_any join_none large let liblist library local localparam logic longint
macromodule matches medium modport module nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null
or output package packed parameter pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg reject_on release
repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared
sequence shortint shortreal showcancelled signed small soft solve specify specparam static string strong strong0 strong1
struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time timeprecision timeunit
tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor`.split(/\s+/));

const LEGAL = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Identifiers are kept short enough for every tool (Verilog allows 1024; tools and waveform viewers like less). */
export const MAX_IDENT = 64;

/** Why `name` is not a legal port/module name, or undefined when it is. */
export function illegalReason(name: string): string | undefined {
  if (!LEGAL.test(name)) return `'${printable(name)}' is not a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*)`;
  if (KEYWORDS.has(name)) return `'${name}' is a Verilog/SystemVerilog keyword`;
  if (name.length > MAX_IDENT) return `'${name.slice(0, 20)}…' is longer than ${MAX_IDENT} characters`;
  if (name.startsWith('_')) return `'${name}' starts with '_', which is reserved for generated names`;
  return undefined;
}

/** A deterministic legal identifier derived from any text (for internal nets, instances, ROMs). */
export function legalize(text: string): string {
  let s = text.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_');
  if (s === '' || /^[0-9]/.test(s)) s = `n${s}`;
  if (s.length > MAX_IDENT - 8) s = s.slice(0, MAX_IDENT - 8);
  if (KEYWORDS.has(s)) s = `${s}_`;
  return s;
}

/** Hands out unique names in one module scope: the first claimant keeps a name, later ones get _2, _3… */
export class Namespace {
  private readonly used = new Set<string>();
  /** Reserve an exact name (ports); returns false if taken. */
  reserve(name: string): boolean {
    if (this.used.has(name)) return false;
    this.used.add(name);
    return true;
  }
  /** Next suffix to try per base name, so n claims of one name cost O(n), not O(n²). */
  private readonly next = new Map<string, number>();
  claim(text: string): string {
    const base = legalize(text);
    let name = base;
    let k = this.next.get(base) ?? 2;
    if (this.used.has(name) || KEYWORDS.has(name)) {
      do name = `${base}_${k++}`; while (this.used.has(name));
      this.next.set(base, k);
    }
    this.used.add(name);
    return name;
  }
}

/** Text safe to place inside a // comment: printable ASCII only, no newlines, bounded length. */
export function commentSafe(text: string, max = 120): string {
  const s = printable(text).replace(/\*\//g, "* /").replace(/\/\*/g, "/ *");
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
