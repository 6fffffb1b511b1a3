#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain: moto's AWS server (the emulator the
# integration tests start by themselves).
set -euo pipefail
python3 -m pip install --quiet 'moto[server]==5.*'
python3 -c "import moto.server, flask" || {
  echo "moto's server did not install: run pip install 'moto[server]==5.*' by hand" >&2
  exit 1
}
