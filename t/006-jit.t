# JIT: the hot paths (db:country_code(), db:record(), db:field(), and the
# API's answer() from set_by_lua, request after request) go through
# LuaJIT's FFI, so a hot loop over them compiles into one looping trace and
# never aborts with NYI. The trace events come from jit.attach(); abort
# reasons are formatted with jit.vmdef (on the default package.path of
# Debian's and OpenResty's LuaJIT). A control block shows that the collector
# does see NYI aborts.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = <<'_EOC_';
    init_by_lua_block {
        require("ipgeo").init{ path = "$TEST_NGINX_TABLE_A", check_interval = 0,
                               snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }

        -- Runs hot(n) with fresh traces and the trace events recorded.
        -- Returns hot's result, the number of completed traces that
        -- started in hot and close its loop, and the abort messages.
        local jutil = require "jit.util"
        local ok_vmdef, vmdef = pcall(require, "jit.vmdef")

        local function abort_message(otr, oex)
            if type(oex) == "function" then
                local fi = jutil.funcinfo(oex)
                oex = fi.loc or tostring(oex)
            end
            local fmt = ok_vmdef and type(otr) == "number" and vmdef.traceerr[otr]
            if fmt then
                local ok, msg = pcall(string.format, fmt, oex)
                if ok then
                    return msg
                end
                return fmt
            end
            -- Without jit.vmdef: the numeric code, which counts as NYI
            -- below, so the test cannot pass vacuously.
            return "NYI? trace error " .. tostring(otr) .. " (" .. tostring(oex) .. ")"
        end

        local function traced(hot, n)
            local starts, loops, aborts, files = {}, 0, {}, {}
            local function on_trace(what, tr, func, pc, otr, oex)
                if what == "start" then
                    starts[tr] = func
                    local file = (jutil.funcinfo(func).source or ""):match("([^/]+)$")
                    if file then
                        files[file] = (files[file] or 0) + 1
                    end
                elseif what == "stop" then
                    if starts[tr] == hot and jutil.traceinfo(tr).linktype == "loop" then
                        loops = loops + 1
                    end
                elseif what == "abort" then
                    aborts[#aborts + 1] = abort_message(otr, oex) .. " @" .. tostring(jutil.funcinfo(func, pc).loc)
                end
            end
            jit.flush()
            jit.attach(on_trace, "trace")
            local ok, res = pcall(hot, n)
            jit.attach(on_trace)
            assert(ok, res)
            return res, loops, aborts, files
        end

        local function nyi(aborts)
            local out = {}
            for _, msg in ipairs(aborts) do
                if msg:find("NYI", 1, true) then
                    out[#out + 1] = msg
                end
            end
            return out
        end

        package.loaded["t.jit"] = { traced = traced, nyi = nyi, vmdef = ok_vmdef }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: country_code() in a hot loop is JIT-compiled, with no NYI abort
--- config
    location = /t {
        content_by_lua_block {
            local T = require "t.jit"
            local db = require("ipgeo").get()
            local ips = { "8.8.8.8", "114.114.114.114", "2001:db8::1", "::ffff:1.0.0.1" }
            for _, ip in ipairs(ips) do assert(db:country_code(ip)) end
            local function hot(n)
                local us = 0
                for i = 1, n do
                    if db:country_code(ips[i % 4 + 1]) == "US" then
                        us = us + 1
                    end
                end
                return us
            end
            local us, loops, aborts = T.traced(hot, 20000)
            ngx.say("jit.vmdef: ", T.vmdef)
            ngx.say("US answers: ", us)
            ngx.say("looping traces in the loop: ", loops >= 1)
            local nyi = T.nyi(aborts)
            ngx.say("NYI aborts: ", #nyi, #nyi > 0 and (" " .. table.concat(nyi, "; ")) or "")
        }
    }
--- response_body
jit.vmdef: true
US answers: 5000
looping traces in the loop: true
NYI aborts: 0



=== TEST 2: record() in a hot loop is JIT-compiled, with no NYI abort
--- config
    location = /t {
        content_by_lua_block {
            local T = require "t.jit"
            local db = require("ipgeo").get()
            local ips = { "8.8.8.8", "114.114.114.114", "2001:db8::1", "::ffff:1.0.0.1" }
            for _, ip in ipairs(ips) do assert(db:record(ip)) end
            local function hot(n)
                local sum = 0
                for i = 1, n do
                    local rec = db:record(ips[i % 4 + 1])
                    sum = sum + rec.asn
                end
                return sum
            end
            local sum, loops, aborts = T.traced(hot, 20000)
            ngx.say("asn sum: ", sum == 5000 * (15169 + 21859 + 64496 + 13335))
            ngx.say("looping traces in the loop: ", loops >= 1)
            local nyi = T.nyi(aborts)
            ngx.say("NYI aborts: ", #nyi, #nyi > 0 and (" " .. table.concat(nyi, "; ")) or "")
        }
    }
--- response_body
asn sum: true
looping traces in the loop: true
NYI aborts: 0



=== TEST 3: field() in a hot loop is JIT-compiled, with no NYI abort
--- config
    location = /t {
        content_by_lua_block {
            local T = require "t.jit"
            local db = require("ipgeo").get()
            local ips = { "8.8.8.8", "114.114.114.114", "2001:db8::1", "::ffff:1.0.0.1" }
            local function hot(n)
                local found = 0
                for i = 1, n do
                    if db:field(ips[i % 4 + 1], "city") then
                        found = found + 1
                    end
                end
                return found
            end
            hot(100)
            local found, loops, aborts = T.traced(hot, 20000)
            ngx.say("found: ", found)
            ngx.say("looping traces in the loop: ", loops >= 1)
            local nyi = T.nyi(aborts)
            ngx.say("NYI aborts: ", #nyi, #nyi > 0 and (" " .. table.concat(nyi, "; ")) or "")
        }
    }
--- response_body
found: 20000
looping traces in the loop: true
NYI aborts: 0



=== TEST 4: control: the collector does report NYI aborts
--- config
    location = /t {
        content_by_lua_block {
            local T = require "t.jit"
            local function hot(n)
                local sum = 0
                for i = 1, n do
                    -- Creating a closure (bytecode FNEW) is not compiled.
                    local f = function() return i end
                    sum = sum + f()
                end
                return sum
            end
            local sum, loops, aborts = T.traced(hot, 20000)
            ngx.say("sum: ", sum)
            ngx.say("NYI aborts seen: ", #T.nyi(aborts) > 0)
        }
    }
--- response_body
sum: 200010000
NYI aborts seen: true



=== TEST 5: ipgeo.api's answer() (the API's rewrite-phase GET), called by set_by_lua request after request, is JIT-compiled with no NYI abort
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /t {
        content_by_lua_block {
            local T = require "t.jit"
            local ips = { "8.8.8.8", "114.114.114.114", "2001:db8::1", "::ffff:1.0.0.1" }
            -- The first answer for each record goes through serve(), which
            -- caches its JSON; answer() answers the rest.
            for _, ip in ipairs(ips) do
                ngx.location.capture("/api/ip_query", { args = "ip=" .. ip })
            end
            local function hot(n)
                local fast = 0
                for i = 1, n do
                    local res = ngx.location.capture("/api/ip_query", { args = "ip=" .. ips[i % 4 + 1] })
                    if tonumber(res.header["Content-Length"]) == #res.body then
                        fast = fast + 1
                    end
                end
                return fast
            end
            local fast, _, aborts, traces = T.traced(hot, 2000)
            ngx.say("answered by answer(): ", fast)
            ngx.say("traces in ipgeo/api.lua: ", (traces["api.lua"] or 0) >= 1)
            local nyi = T.nyi(aborts)
            ngx.say("NYI aborts: ", #nyi, #nyi > 0 and (" " .. table.concat(nyi, "; ")) or "")
        }
    }
--- response_body
answered by answer(): 2000
traces in ipgeo/api.lua: true
NYI aborts: 0
