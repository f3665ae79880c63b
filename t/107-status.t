# The status page (ipgeo.status) in the shipped server block, with two
# workers: every database's metadata, each worker's generation and checksum
# (from the ipgeo_state shared dict), and whether they converged; the page
# answers localhost only. The shipped file (nginx-conf/ipgeo_api_server.conf)
# is included as it is, but for its listen address: it listens on
# 127.0.0.1:8080, which other runs may hold, so t::Ipgeo swaps in
# $TEST_NGINX_RAND_PORT_1. Requests go to it as raw bytes (t.http).
use lib '.';
use t::Ipgeo 'no_plan';

master_on();
workers(2);
repeat_each(2);

our $Init = $t::Ipgeo::HttpConfig . "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit
    . $t::Ipgeo::LuaHttp . <<'_EOC_' . $t::Ipgeo::ApiServer;
        local http = package.loaded["t.http"]

        -- GET path from the shipped server: status, headers, decoded body.
        function http.get_json(path, bind)
            local status, headers, body = http.request($TEST_NGINX_RAND_PORT_1,
                "GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5000, bind)
            return status, headers, body and require("cjson.safe").decode(body), body
        end
    }
    init_worker_by_lua_block {
        assert(require("ipgeo").init_worker())
    }
_EOC_

# tcpsock:bind() (for a client address other than 127.0.0.1) came with
# ngx_lua 0.10.22; OpenResty 1.21.4.1 has 0.10.21. (Distribution nginx loads
# ngx_lua as a dynamic module, which `nginx -V` does not name.)
our $NoBind = do {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $v = `$bin -V 2>&1`;
    $v =~ /ngx_lua-0\.(\d+)\.(\d+)/ && ($1 < 10 || ($1 == 10 && $2 < 22)) ? 1 : 0;
};

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('timeout', 20) if !defined $block->timeout;
});

run_tests();

__DATA__

=== TEST 1: /ipgeo/status: JSON with every database, both workers on generation 1 of its table, converged
--- config
    location = /t {
        content_by_lua_block {
            local http = require "t.http"
            local status, headers, doc
            -- Both workers publish in init_worker; wait until the page shows them.
            for _ = 1, 100 do
                status, headers, doc = http.get_json("/ipgeo/status")
                local ok = status == 200 and type(doc) == "table"
                for _, name in ipairs{ "default", "b", "lang", "api" } do
                    local db = ok and doc.databases[name]
                    ok = db and type(db.workers) == "table" and #db.workers == 2
                end
                if ok then break end
                ngx.sleep(0.05)
            end
            ngx.say(status, " ", headers["content-type"])
            ngx.say("version: ", doc.version, ", worker_pid a number: ", type(doc.worker_pid) == "number")
            local sums = { default = "$TEST_NGINX_TABLE_A_CHECKSUM", b = "$TEST_NGINX_TABLE_B_CHECKSUM",
                           lang = "$TEST_NGINX_TABLE_LANG_CHECKSUM", api = "$TEST_NGINX_TABLE_API_CHECKSUM" }
            local names = {}
            for name in pairs(doc.databases) do names[#names + 1] = name end
            table.sort(names)
            for _, name in ipairs(names) do
                local db = doc.databases[name]
                local pids, same = {}, true
                for _, w in ipairs(db.workers) do
                    pids[#pids + 1] = w.pid
                    same = same and w.checksum == sums[name] and w.generation == 1
                           and type(w.loaded_at) == "number"
                end
                ngx.say(name, ": ", db.name, ", generation ", db.generation, ", checksum ok: ",
                        db.checksum == sums[name], ", workers ", #db.workers,
                        " (two pids: ", #pids == 2 and pids[1] ~= pids[2], ", both on it: ", same,
                        "), converged: ", db.converged)
                ngx.say("  languages: ", table.concat(db.languages, ","), ", columns: ", #db.columns,
                        ", sources: ", type(db.sources), ", attribution: ", tostring(db.attribution),
                        ", description: ", tostring(db.description))
            end
        }
    }
--- request
GET /t
--- response_body
200 application/json; charset=utf-8
version: 0.1.0, worker_pid a number: true
api: api, generation 1, checksum ok: true, workers 2 (two pids: true, both on it: true), converged: true
  languages: en, columns: 19, sources: table, attribution: Fixture data "A&B" \ ipgeo tests — CC0, description: HTTP API fixture
b: b, generation 1, checksum ok: true, workers 2 (two pids: true, both on it: true), converged: true
  languages: en, columns: 7, sources: table, attribution: nil, description: nil
default: default, generation 1, checksum ok: true, workers 2 (two pids: true, both on it: true), converged: true
  languages: en, columns: 7, sources: table, attribution: nil, description: nil
lang: lang, generation 1, checksum ok: true, workers 2 (two pids: true, both on it: true), converged: true
  languages: en,zh-CN, columns: 8, sources: table, attribution: nil, description: nil



=== TEST 2: /ipgeo/status answers localhost only: a client at 127.0.0.2 gets 403, the API still answers it
--- skip_eval: 5: $::NoBind
--- config
    location = /t {
        content_by_lua_block {
            local http = require "t.http"
            local status, headers, doc = http.get_json("/ipgeo/status", "127.0.0.2")
            ngx.say("status from 127.0.0.2: ", status, ", JSON: ", doc ~= nil)
            status, headers, doc = http.get_json("/api/ip_query", "127.0.0.2")
            ngx.say("API from 127.0.0.2: ", status, " ", doc.error, " ", doc.ip)
            status, headers, doc = http.get_json("/ipgeo/status", "127.0.0.1")
            ngx.say("status from 127.0.0.1: ", status, ", JSON: ", doc ~= nil)
        }
    }
--- request
GET /t
--- response_body
status from 127.0.0.2: 403, JSON: false
API from 127.0.0.2: 404 not_found 127.0.0.2
status from 127.0.0.1: 200, JSON: true
--- error_log
access forbidden by rule
--- no_error_log
[alert]
[crit]



=== TEST 3: ipgeo.status.collect() is the page's content as a Lua table; serve() answers in any location
--- config
    location = /status {
        content_by_lua_block { require("ipgeo.status").serve() }
    }
    location = /t {
        content_by_lua_block {
            local cjson = require "cjson.safe"
            local st = require("ipgeo.status").collect()
            -- (last_check, last_reload, last_error come with the timers' checks.)
            local missing = {}
            for _, k in ipairs{ "name", "path", "size", "checksum", "build_time", "generation",
                                "loaded_at", "check_interval", "languages", "columns", "v4_ranges",
                                "v6_ranges", "cached_records", "cache_size", "sources", "workers",
                                "converged" } do
                if st.databases.default[k] == nil then missing[#missing + 1] = k end
            end
            ngx.say("default: missing [", table.concat(missing, " "), "], path ok: ",
                    st.databases.default.path == "$TEST_NGINX_TABLE_A")
            ngx.say("workers is an array: ", cjson.encode(st.databases.default.workers):sub(1, 1) == "[")
            local r = ngx.location.capture("/status")
            local doc = cjson.decode(r.body)
            ngx.say("page: ", r.status, " ", r.header["Content-Type"], ", ends with a newline: ",
                    r.body:sub(-1) == "\n", ", same databases: ",
                    doc.databases.b.checksum == st.databases.b.checksum)
        }
    }
--- request
GET /t
--- response_body
default: missing [], path ok: true
workers is an array: true
page: 200 application/json; charset=utf-8, ends with a newline: true, same databases: true
