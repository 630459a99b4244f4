#!/usr/bin/env bash
# README command 1: the main job on embedded defaults, on a fresh Debian 12 machine.
# Until tidewatchd exists (the daemon issue replaces this with the real quickstart),
# it installs the dependencies, builds Release and runs tidewatch_demo: a simulated
# plant writing an hour of readings through the per-field rings and evaluation
# workers into the window store, then a few dashboard queries over it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${TIDEWATCH_BUILD_ROOT:-$root/build}/quickstart"

"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIDEWATCH_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target tidewatch_demo -j "$(nproc)" >/dev/null
exec "$build/daemon/tidewatch_demo" "$@"
