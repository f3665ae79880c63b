# Sanity: the facade and the native module load through the shipped search
# paths, and the fixture tables answer as the other files expect.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

run_tests();

__DATA__

=== TEST 1: require "ipgeo" loads the facade and libipgeo_ffi.so
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            ngx.say("version: ", ipgeo._VERSION:match("^%d+%.%d+%.%d+$") ~= nil)
            ngx.say("library: ", ipgeo.library == "$TEST_NGINX_IPGEO_ROOT/target/release/libipgeo_ffi.so")
            local cdefs = require "ipgeo.cdefs"
            ngx.say("abi: ", cdefs.C.ipgeo_abi_version())
            ngx.say("native abi: ", cdefs.native.abi_version)
            ngx.say("same module: ", require("ipgeo") == ipgeo)
        }
    }
--- response_body
version: true
library: true
abi: 3
native abi: 3
same module: true



=== TEST 2: the fixture tables answer the same addresses differently
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local dir = "$TEST_NGINX_SNAPSHOT_DIR"
            local a = assert(ipgeo.open("$TEST_NGINX_TABLE_A",
                                        { name = "a", check_interval = 0, snapshot_dir = dir }))
            local b = assert(ipgeo.open("$TEST_NGINX_TABLE_B",
                                        { name = "b", check_interval = 0, snapshot_dir = dir }))
            for _, ip in ipairs{ "8.8.8.8", "114.114.114.114", "2001:db8::1", "1.0.0.1", "203.0.113.7" } do
                local ra, ea = a:record(ip)
                local rb, eb = b:record(ip)
                ngx.say(ip, ": ", ra and ra.city or ea, " | ", rb and rb.city or eb)
            end
            a:close()
            b:close()
        }
    }
--- response_body
8.8.8.8: Mountain View | Tokyo
114.114.114.114: Nanjing | Shenzhen
2001:db8::1: Amsterdam | Stockholm
1.0.0.1: Brisbane | not found
203.0.113.7: not found | Seoul



=== TEST 3: the fixture checksums are the ones `ipgeo info` prints
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local dir = "$TEST_NGINX_SNAPSHOT_DIR"
            for _, t in ipairs{
                { "a", "$TEST_NGINX_TABLE_A", "$TEST_NGINX_TABLE_A_CHECKSUM" },
                { "b", "$TEST_NGINX_TABLE_B", "$TEST_NGINX_TABLE_B_CHECKSUM" },
                { "lang", "$TEST_NGINX_TABLE_LANG", "$TEST_NGINX_TABLE_LANG_CHECKSUM" },
            } do
                local db = assert(ipgeo.open(t[2], { name = t[1], check_interval = 0, snapshot_dir = dir }))
                ngx.say(t[1], ": ", db:info().checksum == t[3])
                db:close()
            end
            ngx.say("a ~= b: ", "$TEST_NGINX_TABLE_A_CHECKSUM" ~= "$TEST_NGINX_TABLE_B_CHECKSUM")
        }
    }
--- response_body
a: true
b: true
lang: true
a ~= b: true
