#!/usr/bin/env bash
# Install the system packages ipgeo builds, tests and runs with (Debian 12).
#
#   util/install-deps.sh [check]
#
# As root, missing packages are installed with apt-get. Otherwise, or with
# `check`, the exact command to run is printed and the script fails if
# anything is missing. A Rust toolchain (cargo >= 1.88) must already be
# present: Debian's rustc is too old for the crates ipgeo uses.
set -euo pipefail

PKGS=(
    # build and data
    curl ca-certificates gcc python3 python3-pip
    # nginx with ngx_lua and lua-resty-core (the runtime on Debian)
    nginx libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-cjson
    # the geoip2 module, for the side-by-side benchmark
    libnginx-mod-http-geoip2
    # standalone LuaJIT (OpenResty branch) for the Lua-side benchmark, luacheck
    luajit2 lua-check
    # Test::Nginx's dependencies (Test::Nginx itself is not packaged)
    libtest-base-perl libtest-longstring-perl liblist-moreutils-perl libtext-diff-perl
    libipc-run-perl libwww-perl liburi-perl
    # load generator, shared state
    wrk redis-server
)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found. Install a Rust toolchain (rustup, Rust >= 1.88) first." >&2
    exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "${1:-}" != check ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || {
        apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
    # Debian starts services on install where it can; ipgeo runs its own.
    exit 0
fi
echo "install-deps: missing packages: ${missing[*]}" >&2
echo "install-deps: run as root:  $cmd" >&2
exit 1
