#!/usr/bin/env bash
# Installs Ember with its test extra and runs every test: pytest, then the
# C++ GoogleTest suite through ctest (built in its own folder).
set -euo pipefail
cd "$(dirname "$0")/.."

# The C++ suite needs GoogleTest; on Debian/Ubuntu it is one package.
if [ ! -f /usr/include/gtest/gtest.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get install -y libgtest-dev || { apt-get update && apt-get install -y libgtest-dev; }
  else
    echo "GoogleTest is missing: install it (Debian/Ubuntu: sudo apt-get install libgtest-dev)" >&2
    exit 1
  fi
fi

python -m pip install ".[test]"
python -m pytest -q
cmake -S . -B build/ctest -DEMBER_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release
cmake --build build/ctest -j 2
ctest --test-dir build/ctest --output-on-failure
