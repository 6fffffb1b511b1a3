#!/usr/bin/env bash
# Builds the four Lambda zips (poller, webhook, command, archiver) for provided.al2023 with cargo-lambda:
#   <target>/lambda/<function>/bootstrap.zip           x86_64 (default), or
#   <target>/lambda/<function>/bootstrap.zip with ARCH=arm64
# where <target> is cargo's target directory (CARGO_TARGET_DIR, else target/).
# Needs cargo-lambda and zig (zig links for the other architecture): scripts/setup.sh installs
# both into .venv/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
arch="${ARCH:-x86_64}"
case "$arch" in
  x86_64) flag=--x86-64; target=x86_64-unknown-linux-gnu ;;
  arm64) flag=--arm64; target=aarch64-unknown-linux-gnu ;;
  *) echo "ARCH must be x86_64 or arm64, not $arch" >&2; exit 2 ;;
esac
command -v cargo-lambda >/dev/null || { echo "cargo-lambda is missing: run scripts/setup.sh" >&2; exit 1; }
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo lambda build --release "$flag" --output-format zip --lambda-dir "$LAMBDA_DIR" \
  --package cloud-ai-poller --package cloud-ai-webhook --package cloud-ai-command --package cloud-ai-archiver
# Each zip must hold an executable `bootstrap` for the requested architecture (ELF e_machine).
for f in poller webhook command archiver; do
  python3 - "$LAMBDA_DIR/$f/bootstrap.zip" "$arch" <<'PY'
import struct, sys, zipfile
path, arch = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path) as z:
    info = z.getinfo("bootstrap")
    head = z.read("bootstrap")[:20]
assert head[:4] == b"\x7fELF", f"{path}: bootstrap is not an ELF executable"
machine = struct.unpack("<H", head[18:20])[0]
expected = {"x86_64": 0x3E, "arm64": 0xB7}[arch]
assert machine == expected, f"{path}: built for machine {machine:#x}, not {arch}"
assert (info.external_attr >> 16) & 0o111, f"{path}: bootstrap is not executable"
print(f"{path}: {arch} bootstrap, {info.file_size} bytes")
PY
done
ls -l "$LAMBDA_DIR"/*/bootstrap.zip
