#!/usr/bin/env bash
# Installs what the tests and builds need beyond the Rust toolchain and Terraform, all from PyPI:
# moto's AWS server (the emulator the integration tests start by themselves), cargo-lambda with
# zig (the Lambda zips for x86_64 and arm64), and checkov (the Terraform security scan).
set -euo pipefail
python3 -m pip install --quiet 'moto[server]==5.*' 'cargo-lambda==1.*' ziglang
python3 -c "import moto.server, flask" || {
  echo "moto's server did not install: run pip install 'moto[server]==5.*' by hand" >&2
  exit 1
}
# checkov pins old AWS libraries, so it gets a virtualenv of its own (scripts/test.sh uses it).
tools="${CLOUD_AI_TOOLS:-$HOME/.cache/cloud-ai}"
if [ ! -x "$tools/checkov/bin/checkov" ]; then
  python3 -m venv "$tools/checkov"
  "$tools/checkov/bin/pip" install --quiet 'checkov==3.*'
fi
command -v cargo-lambda >/dev/null || {
  echo "cargo-lambda is not on PATH after pip install cargo-lambda" >&2
  exit 1
}
