#!/usr/bin/env bash
# Builds the three Lambda zips (poller, command, archiver) for provided.al2023 with cargo-lambda:
#   target/lambda/<function>/bootstrap.zip           x86_64 (default), or
#   target/lambda/<function>/bootstrap.zip with ARCH=arm64
# Needs: pip install cargo-lambda ziglang (zig links for the other architecture).
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${ARCH:-x86_64}"
case "$arch" in
  x86_64) flag=--x86-64; target=x86_64-unknown-linux-gnu ;;
  arm64) flag=--arm64; target=aarch64-unknown-linux-gnu ;;
  *) echo "ARCH must be x86_64 or arm64, not $arch" >&2; exit 2 ;;
esac
command -v cargo-lambda >/dev/null || { echo "cargo-lambda is missing: pip install cargo-lambda ziglang" >&2; exit 1; }
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo lambda build --release "$flag" --output-format zip \
  --bin poller --bin command --bin archiver
for f in poller command archiver; do
  test -s "target/lambda/$f/bootstrap.zip" || { echo "no zip for $f" >&2; exit 1; }
done
ls -l target/lambda/*/bootstrap.zip
