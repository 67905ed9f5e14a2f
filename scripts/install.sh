#!/usr/bin/env bash
# Installs what hardwire needs on a fresh Debian machine: Verilator, Yosys, Icarus, ccache and the open
# iCE40 flow (nextpnr-ice40, fpga-icestorm's icepack) from Debian's packages (only when missing), then the
# npm packages from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in verilator:verilator yosys:yosys iverilog:iverilog ccache:ccache nextpnr-ice40:nextpnr-ice40 icepack:fpga-icestorm python3:python3; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install: apt-get install ${need[*]}"
  $SUDO apt-get update -qq || echo "install: apt-get update failed; installing from the package lists already present"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "install: $(verilator --version), $(yosys -V | cut -d' ' -f1-2), $(iverilog -V 2>/dev/null | head -1 | cut -d' ' -f1-4)"
npm ci --no-audit --no-fund
