# The shipped nginx-conf files, included verbatim: ipgeo_paths.conf (written
# by `make build`), ipgeo_http.conf (declarations) and ipgeo_init.conf (the
# one-line init wiring, which opens the table named by IPGEO_TABLE).
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

# nginx inherits the harness's environment; init_by_lua reads it.
$ENV{IPGEO_TABLE} = $ENV{TEST_NGINX_TABLE_A};
env_to_nginx("IPGEO_TABLE");

our $Shipped = <<'_EOC_';
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_http.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_init.conf;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Shipped) if !defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: ipgeo_init.conf opens $IPGEO_TABLE as "default" in init_by_lua
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = ipgeo.get()
            local info = db:info()
            ngx.say("IPGEO_TABLE in the worker: ", os.getenv("IPGEO_TABLE") == "$TEST_NGINX_TABLE_A")
            ngx.say("path: ", info.path == "$TEST_NGINX_TABLE_A")
            ngx.say("name: ", info.name, ", generation ", info.generation,
                    ", check_interval ", info.check_interval)
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"), " ", db:record("8.8.8.8").city)
            ngx.say("2001:db8::1: ", db:lookup("2001:db8::1").network)
            local names = {}
            for name in pairs(ipgeo.databases()) do names[#names + 1] = name end
            ngx.say("databases: ", table.concat(names, " "))
        }
    }
--- response_body
IPGEO_TABLE in the worker: true
path: true
name: default, generation 1, check_interval 5
8.8.8.8: US Mountain View
2001:db8::1: 2001:db8::/32
databases: default



=== TEST 2: ipgeo_init.conf's init_worker() publishes the worker's state
--- config
    location = /t {
        content_by_lua_block {
            local st = assert(require("ipgeo").status())
            local w = st.workers[ngx.worker.pid()]
            ngx.say("this worker: generation ", w.generation, ", on A: ",
                    w.checksum == "$TEST_NGINX_TABLE_A_CHECKSUM")
            ngx.say("converged: ", st.converged, ", on A: ", st.checksum == "$TEST_NGINX_TABLE_A_CHECKSUM")
        }
    }
--- response_body
this worker: generation 1, on A: true
converged: true, on A: true



=== TEST 3: ipgeo_http.conf declares the ipgeo_state dict (1m)
--- config
    location = /t {
        content_by_lua_block {
            local dict = ngx.shared.ipgeo_state
            ngx.say("declared: ", dict ~= nil)
            ngx.say("capacity: ", dict:capacity())
            local keys = dict:get_keys(0)
            local ok = #keys > 0
            for _, k in ipairs(keys) do
                ok = ok and k:find("^ipgeo:") ~= nil
            end
            ngx.say("keys prefixed ipgeo: ", ok)
        }
    }
--- response_body
declared: true
capacity: 1048576
keys prefixed ipgeo: true



=== TEST 4: ipgeo_init.conf next to one's own init_by_lua_block: nginx refuses the duplicate
--- http_config
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_http.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_init.conf;
    init_by_lua_block { ngx.log(ngx.ERR, "mine") }
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*is duplicate in \S+nginx\.conf:\d+/



=== TEST 5: the declarations alone, with the one-line init pasted into one's own blocks
--- http_config
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_http.conf;
    init_by_lua_block {
        mine = "loaded"
        require("ipgeo").init{ databases = {
            default = { path = os.getenv("IPGEO_TABLE") },
            b = { path = "$TEST_NGINX_TABLE_B", check_interval = 0 },
        } }
    }
    init_worker_by_lua_block {
        assert(require("ipgeo").init_worker())
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            ngx.say(mine, " ", ipgeo.get():country_code("8.8.8.8"), " ", ipgeo.get("b"):country_code("8.8.8.8"))
            ngx.say("published: ", ipgeo.status().workers[ngx.worker.pid()] ~= nil,
                    " ", next(ipgeo.status("b").workers) == nil)
        }
    }
--- response_body
loaded US JP
published: true true



=== TEST 6: ipgeo_api_server.conf's /api/ip_query holds ipgeo_api_location.conf's directives, line for line
--- config
    location = /t {
        content_by_lua_block {
            -- Directive lines, without comments, indentation and blanks.
            local function directives(path, from, to)
                local out, on = {}, from == nil
                for line in io.lines(path) do
                    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
                    if from and line == from then
                        on = true
                    elseif on and line == to then
                        break
                    elseif on and line ~= "" then
                        out[#out + 1] = line
                    end
                end
                return out
            end
            local root = "$TEST_NGINX_IPGEO_ROOT/nginx-conf/"
            local want = directives(root .. "ipgeo_api_location.conf")
            -- The server block's location ends at the first "}" at its depth.
            local got, depth = {}, 0
            for _, line in ipairs(directives(root .. "ipgeo_api_server.conf", "location = /api/ip_query {")) do
                if line == "}" and depth == 0 then
                    break
                end
                depth = depth + (line:find("{%s*$") and 1 or 0) - (line == "}" and 1 or 0)
                got[#got + 1] = line
            end
            ngx.say("location file: ", #want, " lines; server block: ", #got, " lines")
            ngx.say("same: ", table.concat(want, "\n") == table.concat(got, "\n"))
            ngx.say(want[1])
            ngx.say(want[#want])
        }
    }
--- response_body
location file: 10 lines; server block: 10 lines
same: true
default_type "application/json; charset=utf-8";
content_by_lua_block { require("ipgeo.api").serve() }
