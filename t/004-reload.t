# Reload: a table replaced by rename() is picked up within check_interval
# (+1 s); corrupt replacements are refused (logged once each) while the old
# table keeps serving; in-place overwrites (cp onto the live file), truncate
# and removal of the live file never crash a worker; db:reload() and
# db:check() on demand.
#
# Each block works on its own copy of table A, $TEST_NGINX_HTML_DIR/live.ipgeo,
# made in init_by_lua (the harness recreates the html dir for every block).
# One worker under a master, so a crash shows as "exited on signal" [alert].
use lib '.';
use t::Ipgeo 'no_plan';

master_on();
workers(1);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::LuaHelpers . <<'_EOC_';
        local H = require "t.helpers"
        H.copy("$TEST_NGINX_TABLE_A", "$TEST_NGINX_HTML_DIR/live.ipgeo")
        require("ipgeo").init{
            path = "$TEST_NGINX_HTML_DIR/live.ipgeo",
            check_interval = 1,
            snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
        }
    }
    init_worker_by_lua_block {
        assert(require("ipgeo").init_worker())
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('timeout', 20) if !defined $block->timeout;
});

# The refusal lines, without the ", context: ngx.timer" nginx appends.
our $Refused = qr/\[ipgeo\] \w+: refused .*?(?=, context: |$)/;

my $live = "$ENV{TEST_NGINX_HTML_DIR}/live.ipgeo";
our %Refusal = (
    truncated => "[ipgeo] default: refused $live, still serving generation 1: $live: "
        . "header says the file is $ENV{TEST_NGINX_TABLE_A_SIZE} bytes but it is 4096 (truncated or extended)",
    garbage => "[ipgeo] default: refused $live, still serving generation 1: $live: "
        . "not an ipgeo table (bad magic at offset 0)",
    missing => "[ipgeo] default: refused $live, still serving generation 1: $live: "
        . "No such file or directory (os error 2)",
    empty => "[ipgeo] default: refused $live, still serving generation 1: $live: "
        . "cannot read the header: failed to fill whole buffer",
);

run_tests();

__DATA__

=== TEST 1: a table replaced by rename() is served within check_interval + 1 s
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            -- Cache records of table A, which the swap must invalidate.
            local old = db:record("114.114.114.114")
            ngx.say("before: ", db:country_code("8.8.8.8"), " ", old.city, ", generation ", db:generation())
            H.replace("$TEST_NGINX_TABLE_B", live)
            local dt = H.wait(function() return db:generation() == 2 end, 5)
            ngx.say("swapped within 2 s: ", dt ~= nil and dt <= 2)
            ngx.say("after: ", db:country_code("8.8.8.8"), " ", db:record("114.114.114.114").city,
                    ", generation ", db:generation())
            ngx.say("lookup: ", db:lookup("2001:db8::1").city, " ", db:field("198.51.100.1", "city"))
            ngx.say("only in A: ", select(2, db:lookup("1.0.0.1")))
            ngx.say("only in B: ", db:country_code("203.0.113.9"))
            ngx.say("old record untouched: ", old.city)
            local info = db:info()
            ngx.say("info: generation ", info.generation, ", checksum ", info.checksum,
                    ", last_reload ", type(info.last_reload))
            local st = require("ipgeo").status()
            ngx.say("status: ", st.converged, " ", st.checksum)
        }
    }
--- response_body eval
"before: US Nanjing, generation 1
swapped within 2 s: true
after: JP Shenzhen, generation 2
lookup: Stockholm Paris
only in A: not found
only in B: KR
old record untouched: Nanjing
info: generation 2, checksum $ENV{TEST_NGINX_TABLE_B_CHECKSUM}, last_reload number
status: true $ENV{TEST_NGINX_TABLE_B_CHECKSUM}
"
--- error_log eval
"[ipgeo] default: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: corrupt replacements are refused once each; the old table keeps serving
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            local function refused(what)
                local seen = db:info().last_error
                return H.wait(function() return db:info().last_error ~= seen end, 5) ~= nil
            end
            db:record("8.8.8.8")
            for _, bad in ipairs{ "$TEST_NGINX_TABLE_TRUNCATED", "$TEST_NGINX_TABLE_GARBAGE" } do
                H.replace(bad, live)
                ngx.say("refused: ", refused())
                -- Two more checks of the same (refused) file: no new line.
                ngx.sleep(2.2)
                ngx.say("serving: ", db:country_code("8.8.8.8"), " ", db:record("8.8.8.8").city,
                        " ", db:lookup("::ffff:1.0.0.1").network, ", generation ", db:generation())
            end
            H.replace("$TEST_NGINX_TABLE_B", live)
            ngx.say("then a good table: ", H.wait(function() return db:generation() == 2 end, 5) ~= nil,
                    " ", db:country_code("8.8.8.8"), " ", tostring(db:info().last_error))
        }
    }
--- response_body
refused: true
serving: US Mountain View ::ffff:1.0.0.0/120, generation 1
refused: true
serving: US Mountain View ::ffff:1.0.0.0/120, generation 1
then a good table: true JP nil
--- grep_error_log eval: $::Refused
--- grep_error_log_out eval
"$::Refusal{truncated}\n$::Refusal{garbage}\n"
--- error_log eval
"[ipgeo] default: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})"
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 3: in-place overwrites of the live file: lookups keep answering, then the new table
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            local ips = { "8.8.8.8", "114.114.114.114", "2001:db8::1", "::ffff:198.51.100.7", "1.0.0.1" }
            local function answers()
                local out = {}
                for _, ip in ipairs(ips) do
                    local r = db:lookup(ip)
                    out[#out + 1] = r and r.city or "-"
                    assert(db:record(ip) == nil or db:country_code(ip) == r.country_code)
                end
                return table.concat(out, ",")
            end
            ngx.say("before: ", answers())

            -- Open the live file with truncation and write table B into it
            -- in pieces, looking up between the pieces.
            local src = assert(io.open("$TEST_NGINX_TABLE_B", "rb"))
            local data = src:read("*a")
            src:close()
            local f = assert(io.open(live, "wb"))
            ngx.say("truncated: ", answers())
            local step = 65536
            local same = true
            for i = 1, #data, step do
                f:write(data:sub(i, i + step - 1))
                f:flush()
                same = same and answers() == "Mountain View,Nanjing,Amsterdam,Berlin,Brisbane"
            end
            f:close()
            ngx.say("while rewritten: ", same and "table A" or "changed")
            ngx.say("to B: ", H.wait(function() return db:generation() == 2 end, 5) ~= nil)
            ngx.say("after: ", answers())

            -- cp(1) onto the live file: same inode, same size as at start.
            H.sh("cp $TEST_NGINX_TABLE_A " .. live)
            ngx.say("back to A: ", H.wait(function() return db:generation() == 3 end, 5) ~= nil)
            ngx.say("after: ", answers())
        }
    }
--- response_body
before: Mountain View,Nanjing,Amsterdam,Berlin,Brisbane
truncated: Mountain View,Nanjing,Amsterdam,Berlin,Brisbane
while rewritten: table A
to B: true
after: Tokyo,Shenzhen,Stockholm,Paris,-
back to A: true
after: Mountain View,Nanjing,Amsterdam,Berlin,Brisbane
--- error_log eval
[
"[ipgeo] default: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})",
"[ipgeo] default: loaded generation 3 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo ($ENV{TEST_NGINX_TABLE_A_CHECKSUM})",
]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 4: truncate(1) of the live file: lookups keep answering; the empty file is refused
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            H.sh("truncate -s 0 " .. live)
            ngx.say("right after: ", db:country_code("8.8.8.8"), " ", db:lookup("2001:db8::1").city)
            ngx.say("refused: ", H.wait(function() return db:info().last_error ~= nil end, 5) ~= nil)
            ngx.sleep(1.2)
            ngx.say("serving: ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            -- Grow it back in place, as a writer would.
            H.sh("truncate -s 1000 " .. live .. " && cp $TEST_NGINX_TABLE_B " .. live)
            ngx.say("to B: ", H.wait(function() return db:generation() == 2 end, 5) ~= nil,
                    " ", db:country_code("8.8.8.8"))
        }
    }
--- response_body
right after: US Amsterdam
refused: true
serving: US, generation 1
to B: true JP
--- grep_error_log eval: $::Refused
--- grep_error_log_out eval
"$::Refusal{empty}\n"
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: a removed live file is reported once; the table keeps serving until it is back
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            assert(os.remove(live))
            ngx.say("refused: ", H.wait(function() return db:info().last_error ~= nil end, 5) ~= nil)
            ngx.sleep(2.2)
            ngx.say("serving: ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            H.replace("$TEST_NGINX_TABLE_B", live)
            ngx.say("back: ", H.wait(function() return db:generation() == 2 end, 5) ~= nil,
                    " ", db:country_code("8.8.8.8"))
        }
    }
--- response_body
refused: true
serving: US, generation 1
back: true JP
--- grep_error_log eval: $::Refused
--- grep_error_log_out eval
"$::Refusal{missing}\n"
--- no_error_log
[alert]
[crit]



=== TEST 6: db:reload() swaps synchronously, reports unchanged files and refusals
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local p = "$TEST_NGINX_HTML_DIR/r.ipgeo"
            H.copy("$TEST_NGINX_TABLE_A", p)
            local db = assert(ipgeo.open(p, { name = "r", check_interval = 0,
                                              snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
            local function show(what, ...)
                ngx.say(what, ": ", table.concat({ tostring((...)), tostring((select(2, ...))) }, " "),
                        " -> ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            end
            show("unchanged", db:reload())
            H.replace("$TEST_NGINX_TABLE_B", p)
            show("replaced", db:reload())
            show("again", db:reload())
            show("forced", db:reload(true))
            H.replace("$TEST_NGINX_TABLE_TRUNCATED", p)
            show("truncated", db:reload())
            H.replace("$TEST_NGINX_TABLE_GARBAGE", p)
            show("garbage", db:reload())
            assert(os.remove(p))
            show("missing", db:reload())
            H.replace("$TEST_NGINX_TABLE_A", p)
            show("back", db:reload())
            db:close()
        }
    }
--- response_body eval
my $p = "$ENV{TEST_NGINX_HTML_DIR}/r.ipgeo";
"unchanged: false nil -> US, generation 1
replaced: true nil -> JP, generation 2
again: false nil -> JP, generation 2
forced: true nil -> JP, generation 3
truncated: nil $p: header says the file is $ENV{TEST_NGINX_TABLE_A_SIZE} bytes but it is 4096 (truncated or extended) -> JP, generation 3
garbage: nil $p: not an ipgeo table (bad magic at offset 0) -> JP, generation 3
missing: nil $p: No such file or directory (os error 2) -> JP, generation 3
back: true nil -> US, generation 4
"
--- error_log eval
[
"[ipgeo] r: reloaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/r.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})",
"[ipgeo] r: reloaded generation 3 from $ENV{TEST_NGINX_HTML_DIR}/r.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})",
"[ipgeo] r: reloaded generation 4 from $ENV{TEST_NGINX_HTML_DIR}/r.ipgeo ($ENV{TEST_NGINX_TABLE_A_CHECKSUM})",
]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: db:check() loads in the background: "loading", then "swapped" or "failed"
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local p = "$TEST_NGINX_HTML_DIR/c.ipgeo"
            H.copy("$TEST_NGINX_TABLE_A", p)
            local db = assert(ipgeo.open(p, { name = "c", check_interval = 0,
                                              snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
            -- Calls check() until it stops loading (or, with `want`, until
            -- it says so: a refused file is only reported once it has not
            -- changed for a second, in case a writer is still at work).
            local function settle(want)
                local status, err
                H.wait(function()
                    status, err = db:check()
                    if want then
                        return status == want
                    end
                    return status ~= "loading"
                end, 5)
                return status, err
            end
            ngx.say("unchanged: ", (db:check()))
            H.replace("$TEST_NGINX_TABLE_B", p)
            ngx.say("replaced: ", (db:check()))
            ngx.say("then: ", (settle()), " ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            ngx.say("again: ", (db:check()))
            H.replace("$TEST_NGINX_TABLE_GARBAGE", p)
            ngx.say("garbage: ", (db:check()))
            ngx.say("then: ", table.concat({ settle("failed") }, " "))
            ngx.say("again: ", (db:check()), " ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            db:close()
        }
    }
--- response_body eval
"unchanged: unchanged
replaced: loading
then: swapped JP, generation 2
again: unchanged
garbage: loading
then: failed $ENV{TEST_NGINX_HTML_DIR}/c.ipgeo: not an ipgeo table (bad magic at offset 0)
again: unchanged JP, generation 2
"
--- error_log eval
[
"[ipgeo] c: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/c.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})",
"[ipgeo] c: refused $ENV{TEST_NGINX_HTML_DIR}/c.ipgeo, still serving generation 2: $ENV{TEST_NGINX_HTML_DIR}/c.ipgeo: not an ipgeo table (bad magic at offset 0)",
]
--- no_error_log
[alert]
[crit]



=== TEST 8: with check_interval = 0 nothing follows the file
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local p = "$TEST_NGINX_HTML_DIR/still.ipgeo"
            H.copy("$TEST_NGINX_TABLE_A", p)
            local db = assert(ipgeo.open(p, { name = "still", check_interval = 0,
                                              snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
            H.replace("$TEST_NGINX_TABLE_B", p)
            ngx.sleep(1.5)
            ngx.say("after 1.5 s: ", db:country_code("8.8.8.8"), ", generation ", db:generation())
            ngx.say("status: ", next(ipgeo.status("still").workers) == nil)
            ngx.say("reload: ", db:reload(), " ", db:country_code("8.8.8.8"))
            db:close()
        }
    }
--- response_body
after 1.5 s: US, generation 1
status: true
reload: true JP



=== TEST 9: open() in the content phase with check_interval > 0 starts its own timer
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local p = "$TEST_NGINX_HTML_DIR/late.ipgeo"
            H.copy("$TEST_NGINX_TABLE_A", p)
            local db = assert(ipgeo.open(p, { name = "late", check_interval = 1,
                                              snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
            ngx.say("published: ", ipgeo.status("late").workers[ngx.worker.pid()] ~= nil)
            H.replace("$TEST_NGINX_TABLE_B", p)
            ngx.say("swapped within 2 s: ", (H.wait(function() return db:generation() == 2 end, 5) or 99) <= 2,
                    " ", db:country_code("8.8.8.8"))
            ngx.say("default untouched: ", ipgeo.get():country_code("8.8.8.8"), ", generation ",
                    ipgeo.get():generation())
        }
    }
--- response_body
published: true
swapped within 2 s: true JP
default untouched: US, generation 1
--- error_log eval
"[ipgeo] late: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/late.ipgeo ($ENV{TEST_NGINX_TABLE_B_CHECKSUM})"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a writer rewriting the live file in place, over and over: lookups never fail
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local db = require("ipgeo").get()
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            local done = "$TEST_NGINX_HTML_DIR/writer.done"
            -- In the background: cp(1) B and A onto the live file 15 times
            -- each, 50 ms apart, ending with B.
            H.sh("(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do"
                 .. " cp $TEST_NGINX_TABLE_B " .. live .. "; sleep 0.05;"
                 .. " cp $TEST_NGINX_TABLE_A " .. live .. "; sleep 0.05; done;"
                 .. " cp $TEST_NGINX_TABLE_B " .. live .. "; touch " .. done .. ")"
                 .. " >/dev/null 2>&1 &")
            local n, bad = 0, {}
            local finished = H.wait(function()
                for _, ip in ipairs{ "8.8.8.8", "2001:db8::1", "::ffff:114.114.114.114" } do
                    n = n + 1
                    local cc, err = db:country_code(ip)
                    local rec = db:record(ip)
                    if not cc or not rec or rec.country_code ~= cc then
                        bad[#bad + 1] = ip .. ": " .. tostring(err)
                    end
                end
                local f = io.open(done)
                if f then f:close() end
                return f ~= nil
            end, 15)
            ngx.say("writer done: ", finished ~= nil)
            ngx.say("lookups: ", n > 30, ", failed: ", #bad, " ", table.concat(bad, "; "))
            local info = db:info()
            ngx.say("ends on B: ", H.wait(function()
                return db:info().checksum == "$TEST_NGINX_TABLE_B_CHECKSUM"
            end, 5) ~= nil, " ", db:country_code("8.8.8.8"))
        }
    }
--- response_body
writer done: true
lookups: true, failed: 0 
ends on B: true JP
--- no_error_log
[alert]
[crit]
exited on signal
