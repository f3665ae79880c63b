#!/bin/sh
# Runs the self-tests of ipgeo's Test::Nginx subset runner
# (util/test-nginx-subset) against the local nginx + lua module.
#
#   util/test-nginx-subset/run-selftest.sh [prove options] [selftest files]
#
# Environment (all optional):
#   TEST_NGINX_BINARY        nginx binary (default: nginx on PATH, then /usr/sbin/nginx)
#   TEST_NGINX_LOAD_MODULES  dynamic modules to load; defaults to Debian's
#                            ndk + lua modules when they exist
#   TEST_NGINX_PORT          listen port (default 19840, not 1984, so that it
#                            does not collide with the project's own test runs)
#   TEST_NGINX_SERVROOT      server root (default: selftest/servroot here)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [ -z "${TEST_NGINX_LOAD_MODULES+x}" ]; then
    mods=""
    for m in /usr/lib/nginx/modules/ndk_http_module.so \
             /usr/lib/nginx/modules/ngx_http_lua_module.so; do
        [ -f "$m" ] && mods="$mods $m"
    done
    TEST_NGINX_LOAD_MODULES="${mods# }"
    export TEST_NGINX_LOAD_MODULES
fi

: "${TEST_NGINX_PORT:=19840}"
: "${TEST_NGINX_SERVROOT:=$here/selftest/servroot}"
export TEST_NGINX_PORT TEST_NGINX_SERVROOT

# The self-tests exercise *this* implementation, even where the real
# Test::Nginx happens to be installed.
PERL5LIB="$here/lib${PERL5LIB:+:$PERL5LIB}"
export PERL5LIB

if [ $# -eq 0 ]; then
    set -- selftest/*.t
fi

exec prove "$@"
