#!/usr/bin/env bash
# Installs what the tests and builds need beyond the Rust toolchain and Terraform, from PyPI, into
# virtual environments inside the project (.venv/; never the system Python, which current Debian
# and Ubuntu refuse to change: PEP 668):
#   .venv/tools    moto's AWS server (the tests start it themselves), cargo-lambda and zig (the
#                  Lambda zips for x86_64 and arm64)
#   .venv/checkov  checkov (the Terraform security scan; it pins old AWS libraries, so it has its own)
# A second run installs nothing: each environment remembers what it was made with.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

# make_venv <dir> <packages...>: (re)makes <dir> unless it already holds exactly these packages.
make_venv() {
  local dir="$1"
  shift
  local wanted="$*"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$wanted" ]; then
    return
  fi
  python3 -m venv --clear "$dir" || {
    echo "python3 -m venv failed: install Python's venv module (Debian/Ubuntu: apt install python3-venv)" >&2
    exit 1
  }
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$wanted" >"$dir/.installed"
}

make_venv "$CLOUD_AI_VENV/tools" 'moto[server]==5.*' 'cargo-lambda==1.*' ziglang
make_venv "$CLOUD_AI_VENV/checkov" 'checkov==3.*'

"$MOTO_PYTHON" -c "import moto.server, flask" || {
  echo "moto's server did not install into $CLOUD_AI_VENV/tools: remove that folder and run scripts/setup.sh again" >&2
  exit 1
}
command -v cargo-lambda >/dev/null || {
  echo "cargo-lambda is not in $CLOUD_AI_VENV/tools/bin after installing it" >&2
  exit 1
}
