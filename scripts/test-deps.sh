#!/usr/bin/env bash
# What the tests need beyond Go, installed when missing (CI runs on a fresh machine):
#   chromium   — the web UI's browser tests (Debian package)
#   postgresql — the store's conformance suite on PostgreSQL (Debian package; tests start a throwaway cluster)
#   moto      — the AWS API emulator (the machine's Python; pip when missing)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else sudo=""; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    echo "test-deps: installing ${need[*]} (Debian packages)"
    $sudo apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${need[@]}" >/dev/null; }
  else
    echo "test-deps: cannot install ${need[*]} here (no apt-get or no root): the browser tests will skip" >&2
  fi
fi
if ! python3 -c 'import moto' >/dev/null 2>&1 && ! command -v moto_server >/dev/null 2>&1; then
  echo "test-deps: installing moto[server] (pip)"
  python3 -m pip install -q 'moto[server]==5.2.1' 2>/dev/null || echo "test-deps: moto could not be installed: the emulator tests will skip" >&2
fi
