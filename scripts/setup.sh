#!/usr/bin/env bash
# Installs what the tests and builds need beyond the Rust toolchain, all from PyPI:
# moto's AWS server (the emulator the integration tests start by themselves), and cargo-lambda
# with zig (the Lambda zips for x86_64 and arm64).
set -euo pipefail
python3 -m pip install --quiet 'moto[server]==5.*' 'cargo-lambda==1.*' ziglang
python3 -c "import moto.server, flask" || {
  echo "moto's server did not install: run pip install 'moto[server]==5.*' by hand" >&2
  exit 1
}
command -v cargo-lambda >/dev/null || {
  echo "cargo-lambda is not on PATH after pip install cargo-lambda" >&2
  exit 1
}
