#!/usr/bin/env bash
# README command 2: the whole test suite on a fresh Debian 12 machine.
#   1. installs every dependency (deploy/install-deps.sh, idempotent);
#   2. Release build with -Werror (benchmarks compiled too), all tests;
#   3. ThreadSanitizer build, the concurrency tests (ctest label "concurrency");
#   4. AddressSanitizer + UBSan build, all tests;
#   5. clang libFuzzer build, each fuzz target for TIDEWATCH_FUZZ_SECONDS (20 s).
# Build trees go under build/ (or $TIDEWATCH_BUILD_ROOT). Exits non-zero on the first
# failure. Timings: docs/DEVELOPMENT.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${TIDEWATCH_BUILD_ROOT:-$root/build}
jobs=$(nproc)

"$root/deploy/install-deps.sh"

# run_suite NAME "CTEST ARGS" CMAKE ARGS...
run_suite() {
  local name=$1 ctest_args=$2
  shift 2
  local dir="$build_root/$name"
  echo "== tidewatch tests: $name build"
  cmake -S "$root" -B "$dir" -G Ninja -DTIDEWATCH_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  # shellcheck disable=SC2086  # ctest_args is a word list on purpose
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" $ctest_args
}

run_suite release "" -DCMAKE_BUILD_TYPE=Release -DTIDEWATCH_BUILD_BENCHMARKS=ON
run_suite tsan "-L concurrency" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDEWATCH_SANITIZE=thread
run_suite asan "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDEWATCH_SANITIZE=address,undefined
# Clang's warnings differ from GCC's; the -Werror gate is the GCC builds above.
run_suite fuzz "-L fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTIDEWATCH_SANITIZE=address,undefined -DTIDEWATCH_BUILD_FUZZERS=ON -DTIDEWATCH_BUILD_TESTS=OFF \
  -DTIDEWATCH_WERROR=OFF -DTIDEWATCH_FUZZ_SECONDS="${TIDEWATCH_FUZZ_SECONDS:-20}"

echo "== tidewatch tests: all suites passed"
