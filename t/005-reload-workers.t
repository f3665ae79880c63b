# Reload across workers: after a replacement every worker swaps on its own
# timer, and ipgeo.status() (from the ipgeo_state shared dict) shows them
# converge; a corrupt replacement is refused once by each worker.
use lib '.';
use t::Ipgeo 'no_plan';

master_on();
workers(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::LuaHelpers . <<'_EOC_';
        local H = require "t.helpers"

        -- Polls ipgeo.status() every 50 ms until ok(st, n) holds (n: the
        -- number of workers in it), for at most `timeout` seconds; returns
        -- st, n and whether ok() held.
        function H.poll(ok, timeout)
            local st, n
            local dt = H.wait(function()
                st = assert(require("ipgeo").status())
                n = 0
                for _ in pairs(st.workers) do n = n + 1 end
                return ok(st, n)
            end, timeout)
            return st, n, dt ~= nil
        end

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

run_tests();

__DATA__

=== TEST 1: status() converges on the new checksum after a replacement
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            local A, B = "$TEST_NGINX_TABLE_A_CHECKSUM", "$TEST_NGINX_TABLE_B_CHECKSUM"
            local st, n, ok = H.poll(function(st, n) return n == 2 end, 5)
            ngx.say("workers: ", n, ", converged: ", st.converged, ", on A: ", st.checksum == A)
            for _, w in pairs(st.workers) do
                ngx.say("  generation ", w.generation, ", on A: ", w.checksum == A)
            end
            H.replace("$TEST_NGINX_TABLE_B", live)
            ngx.update_time()
            local t0 = ngx.now()
            st, n, ok = H.poll(function(st, n)
                if n ~= 2 or not st.converged or st.checksum ~= B then
                    return false
                end
                for _, w in pairs(st.workers) do
                    if w.generation ~= 2 then
                        return false
                    end
                end
                return true
            end, 5)
            ngx.update_time()
            ngx.say("converged on B within 3 s: ", ok and ngx.now() - t0 <= 3)
            for _, w in pairs(st.workers) do
                ngx.say("  generation ", w.generation, ", on B: ", w.checksum == B)
            end
            ngx.say("this worker: ", ipgeo.get():country_code("8.8.8.8"))
        }
    }
--- response_body
workers: 2, converged: true, on A: true
  generation 1, on A: true
  generation 1, on A: true
converged on B within 3 s: true
  generation 2, on B: true
  generation 2, on B: true
this worker: JP
--- grep_error_log eval: qr/\[ipgeo\] default: loaded generation 2 from \S+/
--- grep_error_log_out eval
"[ipgeo] default: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo
[ipgeo] default: loaded generation 2 from $ENV{TEST_NGINX_HTML_DIR}/live.ipgeo
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a corrupt replacement is refused once by each worker; all keep serving
--- config
    location = /t {
        content_by_lua_block {
            local H = require "t.helpers"
            local ipgeo = require "ipgeo"
            local live = "$TEST_NGINX_HTML_DIR/live.ipgeo"
            local A = "$TEST_NGINX_TABLE_A_CHECKSUM"
            H.poll(function(st, n) return n == 2 end, 5)
            H.replace("$TEST_NGINX_TABLE_GARBAGE", live)
            -- Three checks by each worker.
            ngx.sleep(3)
            local st, n = H.poll(function(st, n) return n == 2 end, 5)
            ngx.say("workers: ", n, ", converged: ", st.converged, ", on A: ", st.checksum == A)
            for _, w in pairs(st.workers) do
                ngx.say("  generation ", w.generation)
            end
            ngx.say("this worker: ", ipgeo.get():country_code("8.8.8.8"))
        }
    }
--- response_body
workers: 2, converged: true, on A: true
  generation 1
  generation 1
this worker: US
--- grep_error_log eval: qr/\[ipgeo\] default: refused .*?(?=, context: |$)/
--- grep_error_log_out eval
my $live = "$ENV{TEST_NGINX_HTML_DIR}/live.ipgeo";
my $line = "[ipgeo] default: refused $live, still serving generation 1: $live: not an ipgeo table (bad magic at offset 0)\n";
$line x 2
--- no_error_log
[alert]
[crit]
