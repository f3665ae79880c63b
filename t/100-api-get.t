# ipgeo.api, GET: ?ip= for IPv4, IPv6, IPv4-mapped and percent-encoded
# addresses; no ip: the caller's own address; db= picks another database;
# the response format (Content-Type, absent fields omitted, numbers as JSON
# numbers, `names` for multi-language tables, `attribution`); HEAD; handler
# options (db, allow_db, timing), serve(opts) and new() misuse.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . <<'_EOC_';
        local api = require "ipgeo.api"
        package.loaded["t.api"] = {
            nodb = api.new{ allow_db = false },
            on_b = api.new{ db = "b" },
            timed = api.new{ timing = true },
            lang_opts = { db = "lang" },
        }
    }
_EOC_

# A second copy of ipgeo.api, loaded while resty.core.var cannot be.
our $PlainInit = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . <<'_EOC_';
        local saved_api, saved_var = package.loaded["ipgeo.api"], package.loaded["resty.core.var"]
        package.loaded["ipgeo.api"], package.loaded["resty.core.var"] = nil, nil
        package.preload["resty.core.var"] = function() error("hidden by the test") end
        package.loaded["t.plain_api"] = require "ipgeo.api"
        package.preload["resty.core.var"] = nil
        package.loaded["ipgeo.api"], package.loaded["resty.core.var"] = saved_api, saved_var
    }
_EOC_

# The API's location as the README shows it, and handlers with options.
# Only the first sets default_type: the API sets Content-Type itself.
our $Config = <<'_EOC_';
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /nodb {
        content_by_lua_block { require("t.api").nodb:serve() }
    }
    location = /on-b {
        content_by_lua_block { require("t.api").on_b:serve() }
    }
    location = /timed {
        content_by_lua_block { require("t.api").timed:serve() }
    }
    location = /lang-opts {
        content_by_lua_block { require("ipgeo.api").serve(require("t.api").lang_opts) }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('config', $Config) if !defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: GET ?ip= an IPv4 address: 200, the record's fields in order, numbers as JSON numbers
--- request
GET /api/ip_query?ip=8.8.8.8
--- response_headers
Content-Type: application/json; charset=utf-8
!X-Ipgeo-Time
!Allow
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}



=== TEST 2: GET ?ip= an IPv6 address, short and written out in full (echoed as given)
--- request eval
["GET /api/ip_query?ip=2001:db8::1",
 "GET /api/ip_query?ip=2400:3200:0:0:0:0:0:FFFF"]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
['{"ip":"2001:db8::1","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897}',
 '{"ip":"2400:3200:0:0:0:0:0:FFFF","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","asn":37963,"latitude":30.2936,"longitude":120.1614}']



=== TEST 3: GET ?ip= an IPv4-mapped IPv6 address answers from the IPv4 data
--- request eval
["GET /api/ip_query?ip=::ffff:8.8.8.8",
 "GET /api/ip_query?ip=::FFFF:7272:7272"]
--- response_body eval
['{"ip":"::ffff:8.8.8.8","network":"::ffff:8.8.8.0/120","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"::FFFF:7272:7272","network":"::ffff:114.114.114.0/120","country_code":"CN","country":"China","province":"Jiangsu","city":"Nanjing","asn":21859,"latitude":32.0617,"longitude":118.7778}']



=== TEST 4: GET ?ip= percent-encoded (%3A, %3a, any encoded byte) is decoded before the lookup
--- request eval
["GET /api/ip_query?ip=2001%3Adb8%3A%3A1",
 "GET /api/ip_query?ip=2001%3adb8%3a%3a1",
 "GET /api/ip_query?ip=%3A%3Affff%3A8.8.8.8",
 "GET /api/ip_query?ip=%38%2E8.8.8"]
--- response_body eval
['{"ip":"2001:db8::1","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897}',
 '{"ip":"2001:db8::1","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897}',
 '{"ip":"::ffff:8.8.8.8","network":"::ffff:8.8.8.0/120","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}']



=== TEST 5: fields the record lacks are omitted, not null or empty
--- request
GET /api/ip_query?ip=10.1.2.3
--- response_body chomp
{"ip":"10.1.2.3","network":"10.0.0.0/8","asn":64512}



=== TEST 6: no ip (or `ip` without `=`): the caller's own address, 127.0.0.1, which has no data: 404 with "ip"
--- request eval
["GET /api/ip_query", "GET /api/ip_query?ip", "GET /api/ip_query?foo=8.8.8.8"]
--- error_code eval
[404, 404, 404]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
['{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}']



=== TEST 7: an empty ip= is an invalid address, not the caller's own
--- request
GET /api/ip_query?ip=
--- error_code: 400
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"error":"invalid_ip","message":"invalid address: "}



=== TEST 8: valid addresses without data: 404 not_found with "ip" (IPv4, IPv6, mapped)
--- request eval
["GET /api/ip_query?ip=192.0.2.1", "GET /api/ip_query?ip=2001:db9::1",
 "GET /api/ip_query?ip=::ffff:192.0.2.1", "GET /api/ip_query?ip=198.51.100.128"]
--- error_code eval
[404, 404, 404, 404]
--- response_body eval
['{"error":"not_found","message":"no data for 192.0.2.1","ip":"192.0.2.1"}',
 '{"error":"not_found","message":"no data for 2001:db9::1","ip":"2001:db9::1"}',
 '{"error":"not_found","message":"no data for ::ffff:192.0.2.1","ip":"::ffff:192.0.2.1"}',
 '{"error":"not_found","message":"no data for 198.51.100.128","ip":"198.51.100.128"}']



=== TEST 9: db= picks another open database: table B answers the same addresses differently
--- request eval
["GET /api/ip_query?ip=8.8.8.8&db=b", "GET /api/ip_query?db=b&ip=203.0.113.9",
 "GET /api/ip_query?ip=203.0.113.9", "GET /api/ip_query?ip=8.8.8.8&db=default"]
--- error_code eval
[200, 200, 404, 200]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"JP","country":"Japan","province":"Tokyo","city":"Tokyo","asn":2497,"latitude":35.6895,"longitude":139.6917}',
 '{"ip":"203.0.113.9","network":"203.0.113.0/24","country_code":"KR","country":"South Korea","province":"Seoul","city":"Seoul","asn":4766,"latitude":37.566,"longitude":126.9784}',
 '{"error":"not_found","message":"no data for 203.0.113.9","ip":"203.0.113.9"}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}']



=== TEST 10: a multi-language table: fields in the primary language plus a `names` object
--- request eval
["GET /api/ip_query?ip=8.8.8.8&db=lang", "GET /api/ip_query?ip=2400:3200::1&db=lang"]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","accuracy_radius":1000,"names":{"city":{"en":"Mountain View","zh-CN":"山景城"},"country":{"en":"United States","zh-CN":"美国"},"province":{"en":"California","zh-CN":"加利福尼亚州"}}}',
 '{"ip":"2400:3200::1","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","accuracy_radius":100,"names":{"city":{"en":"Hangzhou","zh-CN":"杭州"},"country":{"en":"China","zh-CN":"中国"},"province":{"en":"Zhejiang","zh-CN":"浙江省"}}}']



=== TEST 11: every field in the documented order; strings JSON-escaped; u32 and float extremes; attribution last
--- request eval
["GET /api/ip_query?ip=192.0.2.1&db=api",
 "GET /api/ip_query?ip=203.0.113.200&db=api",
 "GET /api/ip_query?ip=2001:db8:1:ffff::&db=api"]
--- response_body eval
['{"ip":"192.0.2.1","network":"192.0.2.0/24","country_code":"AU","country":"Australia","continent_code":"OC","continent":"Oceania","province":"New South Wales","province_code":"NSW","city":"Sydney","city_code":"2000","district":"Haymarket","district_code":"HM","isp":"Example ISP","organization":"Example Org","asn":4294967295,"asn_org":"Example AS","latitude":-33.8688197,"longitude":151.2092955,"accuracy_radius":0,"timezone":"Australia/Sydney","postal_code":"2000","attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}',
 '{"ip":"203.0.113.200","network":"203.0.113.0/24","country_code":"XX","country":"Say \"hi\" \\\\ back","province":"Tab\tinside","city":"Line\nbreak","district":"Zürich ☃ 北京","isp":"</script>","organization":"{\"json\":true}","asn":0,"asn_org":"Esc\u001b[31m red","latitude":90,"longitude":-180,"accuracy_radius":65535,"timezone":"Etc/GMT+12","postal_code":"A, B","attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}',
 '{"ip":"2001:db8:1:ffff::","network":"2001:db8:1::/48","country_code":"JP","country":"Japan","continent_code":"AS","continent":"Asia","province":"Tokyo","province_code":"13","city":"Tokyo","asn":1,"latitude":0.5,"longitude":-0.25,"accuracy_radius":1,"timezone":"Asia/Tokyo","attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}']



=== TEST 12: the JSON decodes to the table's values: numbers are numbers, escapes round-trip
--- config
    location = /api/ip_query {
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            local cjson = require "cjson.safe"
            local db = require("ipgeo").get("api")
            for _, ip in ipairs{ "192.0.2.1", "203.0.113.200", "2001:db8:1::1" } do
                local r = ngx.location.capture("/api/ip_query", { args = { ip = ip, db = "api" } })
                local doc = assert(cjson.decode(r.body))
                local rec = assert(db:lookup(ip))
                local n, bad = 0, {}
                for k, v in pairs(rec) do
                    n = n + 1
                    if doc[k] ~= v or type(doc[k]) ~= type(v) then
                        bad[#bad + 1] = k
                    end
                end
                local extra = {}
                for k in pairs(doc) do
                    if rec[k] == nil and k ~= "ip" and k ~= "attribution" then
                        extra[#extra + 1] = k
                    end
                end
                ngx.say(ip, ": ", n, " fields, mismatched: [", table.concat(bad, " "),
                        "], extra: [", table.concat(extra, " "), "], asn is a ",
                        type(doc.asn), ", latitude is a ", type(doc.latitude))
            end
        }
    }
--- request
GET /t
--- response_body
192.0.2.1: 20 fields, mismatched: [], extra: [], asn is a number, latitude is a number
203.0.113.200: 15 fields, mismatched: [], extra: [], asn is a number, latitude is a number
2001:db8:1::1: 13 fields, mismatched: [], extra: [], asn is a number, latitude is a number



=== TEST 13: db= naming no open database: 400 unknown_database (also an empty db=)
--- request eval
["GET /api/ip_query?ip=8.8.8.8&db=nope", "GET /api/ip_query?ip=8.8.8.8&db=",
 "GET /api/ip_query?db=DEFAULT"]
--- error_code eval
[400, 400, 400]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
['{"error":"unknown_database","message":"no database named nope"}',
 '{"error":"unknown_database","message":"no database named "}',
 '{"error":"unknown_database","message":"no database named DEFAULT"}']



=== TEST 14: an allow_db = false handler accepts db= naming its own database
--- request
GET /nodb?ip=8.8.8.8&db=default
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}



=== TEST 15: an allow_db = false handler refuses db= naming another database (as POST does)
--- request eval
["GET /nodb?ip=8.8.8.8&db=b", "GET /nodb?ip=8.8.8.8&db=nope"]
--- error_code eval
[400, 400]
--- response_body eval
['{"error":"invalid_field","message":"the db parameter is not allowed here"}',
 '{"error":"invalid_field","message":"the db parameter is not allowed here"}']



=== TEST 16: new{ db = "b" } answers from b by default; db= still picks another
--- request eval
["GET /on-b?ip=8.8.8.8", "GET /on-b?ip=8.8.8.8&db=default", "GET /on-b?ip=1.0.0.1"]
--- error_code eval
[200, 200, 404]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"JP","country":"Japan","province":"Tokyo","city":"Tokyo","asn":2497,"latitude":35.6895,"longitude":139.6917}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"not_found","message":"no data for 1.0.0.1","ip":"1.0.0.1"}']



=== TEST 17: serve(opts) builds and caches one handler per options table and content; handler() without opts is the default one
--- config
    location = /lang-opts {
        content_by_lua_block { require("ipgeo.api").serve(require("t.api").lang_opts) }
    }
    location = /t {
        content_by_lua_block {
            local api = require "ipgeo.api"
            local opts = require("t.api").lang_opts
            local r = ngx.location.capture("/lang-opts", { args = "ip=114.114.114.114" })
            ngx.say(r.status, " ", r.body)
            ngx.say("cached per table: ", api.handler(opts) == api.handler(opts))
            ngx.say("an equal table, the same handler: ", api.handler(opts) == api.handler{ db = "lang" })
            ngx.say("other options, another handler: ", api.handler(opts) ~= api.handler{ db = "b" },
                    " ", api.handler{ db = "b" } == api.handler{ db = "b" },
                    " ", api.handler{ db = "lang", max_batch = 5 } ~= api.handler(opts),
                    " ", api.handler{ trusted = { "10.0.0.0/8" } } ~= api.handler{ trusted = { "10.0.0.0/9" } },
                    " ", api.handler{ trusted = { "10.0.0.0/8" } } == api.handler{ trusted = { "10.0.0.0/8" } },
                    " ", api.handler{ max_batch = 5 } ~= api.handler{ max_batch = 6 })
            ngx.say("default handler cached: ", api.handler() == api.handler())
        }
    }
--- request
GET /t
--- response_body
200 {"ip":"114.114.114.114","network":"114.114.114.0/24","country_code":"CN","country":"China","province":"Jiangsu","city":"Nanjing","accuracy_radius":50,"names":{"city":{"en":"Nanjing","zh-CN":"南京"},"country":{"en":"China","zh-CN":"中国"},"province":{"en":"Jiangsu","zh-CN":"江苏省"}}}
cached per table: true
an equal table, the same handler: true
other options, another handler: true true true true true true
default handler cached: true



=== TEST 18: HEAD: the same status and headers as GET, no body
--- request eval
["HEAD /api/ip_query?ip=8.8.8.8", "HEAD /api/ip_query?ip=192.0.2.1", "HEAD /api/ip_query?ip=nope"]
--- error_code eval
[200, 404, 400]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
["", "", ""]



=== TEST 19: new{ timing = true } adds X-Ipgeo-Time (server microseconds, a number) to answers and errors
--- request eval
["GET /timed?ip=8.8.8.8", "GET /timed?ip=192.0.2.1", "GET /timed?ip=bad", "PUT /timed"]
--- error_code eval
[200, 404, 400, 405]
--- response_headers_like eval
["X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$",
 "X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$",
 "X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$",
 "X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$"]



=== TEST 20: new() rejects misused options with an error naming the option
--- config
    location = /t {
        content_by_lua_block {
            local api = require "ipgeo.api"
            for _, opts in ipairs{
                "x", { db = 1 }, { allow_db = "no" }, { max_batch = "5" }, { max_batch = 0 },
                { max_batch = 2.5 }, { max_body = 1 }, { max_body = "1k" }, { trusted = "10.0.0.1" },
                { trusted = { "10.0.0.0/33" } }, { trusted = { "nope" } }, { header = 5 },
                { timing = 1 },
            } do
                local ok, err = pcall(api.new, opts)
                ngx.say(ok, " ", (tostring(err):gsub("^[^:]+:%d+: ", "")))
            end
        }
    }
--- request
GET /t
--- response_body
false opts must be a table
false opts.db must be a string
false opts.allow_db must be a boolean
false opts.max_batch must be a number
false opts.max_batch must be a positive integer
false opts.max_batch must be a positive integer
false opts.max_body must be at least 2
false opts.max_body must be a number
false opts.trusted must be a table
false opts.trusted[1]: bad prefix length in 10.0.0.0/33
false opts.trusted[1]: bad address nope
false opts.header must be a string
false opts.timing must be a boolean



=== TEST 21: query-string parsing: ip= and db= only as whole names (not xip=, adb=), the first of repeated names wins, empty values between &s
--- request eval
["GET /api/ip_query?xip=203.0.113.9&ip=8.8.8.8",
 "GET /api/ip_query?aip=8.8.8.8",
 "GET /api/ip_query?ip=8.8.8.8&ip=203.0.113.9",
 "GET /api/ip_query?&&ip=8.8.8.8&",
 "GET /api/ip_query?adb=b&ip=8.8.8.8",
 "GET /api/ip_query?x=1&db=b&db=default&ip=8.8.8.8",
 "GET /api/ip_query?ip=8.8.8.8&dbx=b"]
--- error_code eval
[200, 404, 200, 200, 200, 200, 200]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"JP","country":"Japan","province":"Tokyo","city":"Tokyo","asn":2497,"latitude":35.6895,"longitude":139.6917}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}']



=== TEST 22: without resty.core's ngx_http_lua_ffi_var_get the handler reads ngx.var.args, with the same answers
--- http_config eval: $::PlainInit
--- config
    location = /plain {
        content_by_lua_block {
            local api = require "t.plain_api"
            ngx.header["X-Via"] = api._query_via .. " / " .. require("ipgeo.api")._query_via
            api.serve()
        }
    }
--- request eval
["GET /plain?ip=8.8.8.8",
 "GET /plain?x=1&db=b&ip=8.8.8.8",
 "GET /plain?ip=%3A%3Affff%3A8.8.8.8",
 "GET /plain?ip=8.8.8",
 "GET /plain?ip=",
 "GET /plain",
 "POST /plain\n{\"ip\": \"8.8.8.8\"}",
 "POST /plain\n" . ("x" x 70000)]
--- response_headers eval
["X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get",
 "X-Via: ngx.var.args / ngx_http_lua_ffi_var_get"]
--- error_code eval
[200, 200, 200, 400, 400, 404, 200, 413]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"JP","country":"Japan","province":"Tokyo","city":"Tokyo","asn":2497,"latitude":35.6895,"longitude":139.6917}',
 '{"ip":"::ffff:8.8.8.8","network":"::ffff:8.8.8.0/120","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"invalid_ip","message":"invalid address: 8.8.8"}',
 '{"error":"invalid_ip","message":"invalid address: "}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"body_too_large","message":"the body is over 65536 bytes"}']



=== TEST 23: the shipped location answers a found GET in the rewrite phase (answer()): Content-Length, the bytes serve() sends
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /serve-only {
        default_type "application/json; charset=utf-8";
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            for _, args in ipairs{
                "ip=8.8.8.8", "ip=2001:db8::1", "ip=::ffff:8.8.8.8", "ip=10.1.2.3",
                "ip=8.8.8.8&db=lang", "db=b&ip=203.0.113.9", "ip=192.0.2.1&db=api",
                "ip=203.0.113.200&db=api", "ip=2001:db8:1:ffff::&db=api", "x=1&ip=8.8.8.8&ip=1.1.1.1",
            } do
                -- The first request for a record caches its JSON (in serve()
                -- when answer() has not seen it yet); the second is answer()'s.
                local first = ngx.location.capture("/api/ip_query", { args = args })
                local second = ngx.location.capture("/api/ip_query", { args = args })
                local plain = ngx.location.capture("/serve-only", { args = args })
                ngx.say(args, ": ", second.status, " ", second.header["Content-Type"],
                        ", same bytes: ", first.body == plain.body and second.body == plain.body,
                        ", rewrite phase: ", tonumber(second.header["Content-Length"]) == #plain.body,
                        ", serve() has no Content-Length: ", plain.header["Content-Length"] == nil)
            end
        }
    }
--- request
GET /t
--- response_body
ip=8.8.8.8: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=2001:db8::1: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=::ffff:8.8.8.8: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=10.1.2.3: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=8.8.8.8&db=lang: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
db=b&ip=203.0.113.9: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=192.0.2.1&db=api: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=203.0.113.200&db=api: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
ip=2001:db8:1:ffff::&db=api: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
x=1&ip=8.8.8.8&ip=1.1.1.1: 200 application/json; charset=utf-8, same bytes: true, rewrite phase: true, serve() has no Content-Length: true
--- no_error_log
[error]



=== TEST 24: what answer() leaves to serve(), asked twice (so a cached record cannot explain it): errors, no ip, escaped values, db= where not allowed, timing, HEAD, POST
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /nodb {
        default_type "application/json; charset=utf-8";
        set $ipgeo_body "";
        set_by_lua_block $ipgeo_hit { return require("t.api").nodb:answer() }
        if ($ipgeo_hit) {
            return 200 $ipgeo_body;
        }
        content_by_lua_block { require("t.api").nodb:serve() }
    }
    location = /timed {
        default_type "application/json; charset=utf-8";
        set $ipgeo_body "";
        set_by_lua_block $ipgeo_hit { return require("t.api").timed:answer() }
        if ($ipgeo_hit) {
            return 200 $ipgeo_body;
        }
        content_by_lua_block { require("t.api").timed:serve() }
    }
    location = /t {
        content_by_lua_block {
            for _, q in ipairs{
                { "/api/ip_query", "ip=192.0.2.1" }, { "/api/ip_query", "ip=8.8.8" },
                { "/api/ip_query", "ip=" }, { "/api/ip_query", "" },
                { "/api/ip_query", "ip=%38.8.8.8" }, { "/api/ip_query", "ip=8.8.8.8&db=%62" },
                { "/api/ip_query", "ip=8.8.8.8&db=nope" }, { "/api/ip_query", "ip=8.8.8.8&db=" },
                { "/nodb", "ip=8.8.8.8&db=b" }, { "/nodb", "ip=8.8.8.8&db=default" },
                { "/timed", "ip=8.8.8.8" },
                { "/api/ip_query", "ip=8.8.8.8", ngx.HTTP_HEAD },
                { "/api/ip_query", "ip=8.8.8.8", ngx.HTTP_POST, '{"ip":"8.8.8.8"}' },
            } do
                local res
                for _ = 1, 2 do
                    res = ngx.location.capture(q[1], { args = q[2], method = q[3] or ngx.HTTP_GET, body = q[4] })
                end
                ngx.say(q[1], "?", q[2], " ", q[3] == ngx.HTTP_HEAD and "HEAD" or q[4] and "POST" or "GET",
                        ": ", res.status, ", serve(): ", res.header["Content-Length"] == nil,
                        res.header["X-Ipgeo-Time"] and ", X-Ipgeo-Time" or "",
                        " ", (res.body:match('^{"error":"[a-z_]+"') or res.body:sub(1, 16)))
            end
        }
    }
--- request
GET /t
--- response_body
/api/ip_query?ip=192.0.2.1 GET: 404, serve(): true {"error":"not_found"
/api/ip_query?ip=8.8.8 GET: 400, serve(): true {"error":"invalid_ip"
/api/ip_query?ip= GET: 400, serve(): true {"error":"invalid_ip"
/api/ip_query? GET: 404, serve(): true {"error":"not_found"
/api/ip_query?ip=%38.8.8.8 GET: 200, serve(): true {"ip":"8.8.8.8",
/api/ip_query?ip=8.8.8.8&db=%62 GET: 200, serve(): true {"ip":"8.8.8.8",
/api/ip_query?ip=8.8.8.8&db=nope GET: 400, serve(): true {"error":"unknown_database"
/api/ip_query?ip=8.8.8.8&db= GET: 400, serve(): true {"error":"unknown_database"
/nodb?ip=8.8.8.8&db=b GET: 400, serve(): true {"error":"invalid_field"
/nodb?ip=8.8.8.8&db=default GET: 200, serve(): true {"ip":"8.8.8.8",
/timed?ip=8.8.8.8 GET: 200, serve(): true, X-Ipgeo-Time {"ip":"8.8.8.8",
/api/ip_query?ip=8.8.8.8 HEAD: 200, serve(): true 
/api/ip_query?ip=8.8.8.8 POST: 200, serve(): true {"ip":"8.8.8.8",
--- no_error_log
[error]



=== TEST 25: answer() without `set $ipgeo_body ""` in the location: serve() answers, and the mistake is logged once per worker
--- config
    location = /api/ip_query {
        default_type "application/json; charset=utf-8";
        set_by_lua_block $ipgeo_hit { return require("ipgeo.api").answer() }
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            for _, ip in ipairs{ "8.8.8.8", "8.8.8.8", "2001:db8::1", "2001:db8::1" } do
                local res = ngx.location.capture("/api/ip_query", { args = { ip = ip } })
                ngx.say(ip, ": ", res.status, " ", res.body:sub(1, 30), ", serve(): ", res.header["Content-Length"] == nil)
            end
            -- The error log so far (this worker's only): one line, whatever
            -- the number of requests.
            local n, line = 0, nil
            for l in io.lines(ngx.config.prefix() .. "logs/error.log") do
                if l:find("ipgeo.api answer(): ", 1, true) then
                    n, line = n + 1, l
                end
            end
            ngx.say("logged: ", n)
            ngx.say(line:match("%[error%]") and "[error] " or "?",
                    (line:match("ipgeo.api answer%(%): cannot set %$ipgeo_body %(variable \"ipgeo_body\" not found for writing;")
                     and "cannot set $ipgeo_body (variable \"ipgeo_body\" not found for writing; ...)" or line),
                    (line:find(': declare it in the location with set $ipgeo_body ""; before set_by_lua (serve() answers instead)', 1, true)
                     and ": declare it ... (serve() answers instead)" or ""))
        }
    }
--- response_body
8.8.8.8: 200 {"ip":"8.8.8.8","network":"8.8, serve(): true
8.8.8.8: 200 {"ip":"8.8.8.8","network":"8.8, serve(): true
2001:db8::1: 200 {"ip":"2001:db8::1","network":, serve(): true
2001:db8::1: 200 {"ip":"2001:db8::1","network":, serve(): true
logged: 1
[error] cannot set $ipgeo_body (variable "ipgeo_body" not found for writing; ...): declare it ... (serve() answers instead)
--- no_error_log
[alert]
[crit]



=== TEST 26: without resty.core's var functions answer() always leaves the request to serve(), silently
--- http_config eval: $::PlainInit
--- config
    location = /plain {
        default_type "application/json; charset=utf-8";
        set $ipgeo_body "";
        set_by_lua_block $ipgeo_hit { return require("t.plain_api").answer() }
        if ($ipgeo_hit) {
            return 200 $ipgeo_body;
        }
        content_by_lua_block { require("t.plain_api").serve() }
    }
--- request eval
["GET /plain?ip=8.8.8.8", "GET /plain?ip=8.8.8.8", "GET /plain?ip=8.8.8"]
--- error_code eval
[200, 200, 400]
--- response_headers eval
["!Content-Length", "!Content-Length", "!Content-Length"]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"invalid_ip","message":"invalid address: 8.8.8"}']
