#!/usr/bin/env bash
# Install what mmfuzz needs from Debian's packages, only what is missing.
# Idempotent; safe without a terminal (CI=true, no stdin).
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd clang-14 || need+=(clang-14)
have_pkg libclang-rt-14-dev || need+=(libclang-rt-14-dev)
have_cmd llvm-profdata-14 || need+=(llvm-14)
have_cmd afl-clang-fast || need+=(afl++)
have_pkg liburcu-dev || need+=(liburcu-dev)
have_cmd cmake || need+=(cmake)
have_cmd ninja || need+=(ninja-build)
have_cmd python3 || need+=(python3)

if ((${#need[@]})); then
	echo "setup: installing ${need[*]}"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq </dev/null
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
fi
echo "setup: clang $(clang-14 --version | head -1 | sed 's/.*version //'), cmake $(cmake --version | head -1 | awk '{print $3}'), liburcu $(dpkg-query -W -f='${Version}' liburcu-dev)"
