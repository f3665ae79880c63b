# ipgeo.api errors, all JSON with a stable `error` code and a `message`:
# 400 invalid_ip (odd spellings; the echoed text is bounded and escaped),
# invalid_json (bad JSON, non-object JSON, arrays, empty bodies, deep
# nesting), invalid_field (ip, ips, db of the wrong type; ip and ips); 405
# method_not_allowed with Allow; 413 body_too_large from the API's max_body
# (by Content-Length and by the body actually read) and from nginx's
# client_max_body_size in the shipped server block (error_page 413 JSON).
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . $t::Ipgeo::LuaHttp . <<'_EOC_';
        local api = require "ipgeo.api"
        package.loaded["t.api"] = {
            tiny = api.new{ max_body = 100 },
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /tiny {
        content_by_lua_block { require("t.api").tiny:serve() }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('config', $Config) if !defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: GET ?ip= odd spellings: 400 invalid_ip; the message shows at most 64 bytes, control and non-ASCII bytes as \xNN
--- config
    location = /api/ip_query {
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            -- Query strings as sent (percent-encoded where a client must).
            local args = {
                "8.8.8", "8.8.8.8.8", "8.8.8.", ".8.8.8.8", "8..8.8", "256.8.8.8", "8.8.8.-1",
                "08.8.8.8", "010.0.0.1", "8.8.8.010", "0x8.8.8.8", "0x08080808", "134744072",
                "8.8.8.8/24", "2001:db8::/32", "fe80::1%25eth0", "[2001:db8::1]", "8.8.8.8:80",
                "%208.8.8.8", "8.8.8.8+", "%EF%BC%98.8.8.8", "%D9%A8.8.8.8", "1:2:3:4:5:6:7:8:9",
                "2001:db8:::1", "2001::db8::1", ":2001:db8::1", "2001:db8::1:", "12345::1",
                "::ffff:8.8.8", "::ffff:256.8.8.8", "::ffff:08.8.8.8", "localhost", "8.8.8.8%00",
                "%01%02%1B[0m", "%22%5C%3Cscript%3E", "8%2E8%2E8%2E8%2E8", "%", "%zz",
                string.rep("1", 5000), string.rep("8.", 40) .. "8",
            }
            for _, a in ipairs(args) do
                local r = ngx.location.capture("/api/ip_query", { args = "ip=" .. a })
                ngx.say(r.status, " ", r.header["Content-Type"], " ", r.body)
            end
        }
    }
--- request
GET /t
--- response_body
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8."}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: .8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8..8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 256.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.-1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 08.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 010.0.0.1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.010"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 0x8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 0x08080808"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 134744072"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8/24"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 2001:db8::/32"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: fe80::1%eth0"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: [2001:db8::1]"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8:80"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address:  8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8 "}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: \\xef\\xbc\\x98.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: \\xd9\\xa8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 1:2:3:4:5:6:7:8:9"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 2001:db8:::1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 2001::db8::1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: :2001:db8::1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 2001:db8::1:"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 12345::1"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: ::ffff:8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: ::ffff:256.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: ::ffff:08.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: localhost"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8\\x00"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: \\x01\\x02\\x1b[0m"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: \\x22\\x5c<script>"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8.8"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: %"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: %zz"}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 1111111111111111111111111111111111111111111111111111111111111111..."}
400 application/json; charset=utf-8 {"error":"invalid_ip","message":"invalid address: 8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8.8...."}



=== TEST 2: POST {"ip": ...} and batch items with odd spellings: invalid_ip, the same messages
--- request eval
["POST /api/ip_query\n{\"ip\":\"1.2.3\"}",
 "POST /api/ip_query\n{\"ip\":\"\\u0000\\u001f\\\"\\\\\"}",
 "POST /api/ip_query\n{\"ip\":\"8.8.8.8\\n\"}",
 "POST /api/ip_query\n{\"ips\":[\"::ffff:1.2.3.4/120\", \"\\u00e9\"]}"]
--- error_code eval
[400, 400, 400, 200]
--- response_body eval
['{"error":"invalid_ip","message":"invalid address: 1.2.3"}',
 '{"error":"invalid_ip","message":"invalid address: \\\\x00\\\\x1f\\\\x22\\\\x5c"}',
 '{"error":"invalid_ip","message":"invalid address: 8.8.8.8\\\\x0a"}',
 '{"results":[null,null],"errors":[{"index":0,"error":"invalid_ip","message":"invalid address: ::ffff:1.2.3.4/120"},{"index":1,"error":"invalid_ip","message":"invalid address: \\\\xc3\\\\xa9"}]}']



=== TEST 3: a body that is not JSON: 400 invalid_json, with lua-cjson's reason
--- request eval
["POST /api/ip_query\n{\"ip\":",
 "POST /api/ip_query\n{'ip':'8.8.8.8'}",
 "POST /api/ip_query\n{\"ip\":\"8.8.8.8\"} {}",
 "POST /api/ip_query\n{\"ip\":\"8.8.8.8\",}",
 "POST /api/ip_query\n\xef\xbb\xbf{\"ip\":\"8.8.8.8\"}",
 "POST /api/ip_query\nip=8.8.8.8",
 "POST /api/ip_query\n" . ("[" x 5000),
 "POST /api/ip_query\n" . ("{\"a\":" x 1100) . "1" . ("}" x 1100)]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_headers eval
[("Content-Type: application/json; charset=utf-8") x 8]
--- response_body_like eval
[(qr/^\{"error":"invalid_json","message":"the body is not JSON: [^"]+"\}\z/) x 8]



=== TEST 4: JSON that is not an object (a string, a number, true, null, an array): 400 invalid_json
--- request eval
["POST /api/ip_query\n\"8.8.8.8\"", "POST /api/ip_query\n8", "POST /api/ip_query\ntrue",
 "POST /api/ip_query\nnull", "POST /api/ip_query\n[\"8.8.8.8\"]", "POST /api/ip_query\n[{\"ip\":\"8.8.8.8\"}]"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[('{"error":"invalid_json","message":"the body must be a JSON object"}') x 6]



=== TEST 5: the empty JSON array is not an object either
--- request
POST /api/ip_query
[]
--- error_code: 400
--- response_body chomp
{"error":"invalid_json","message":"the body must be a JSON object"}



=== TEST 6: an empty body: 400 invalid_json
--- request
POST /api/ip_query
--- more_headers
Content-Length: 0
--- error_code: 400
--- response_body chomp
{"error":"invalid_json","message":"the body is empty"}



=== TEST 7: a body of only whitespace: 400 invalid_json
--- raw_request eval
"POST /api/ip_query HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 5\r
\r
 \r\n\t "
--- error_code: 400
--- response_body_like: ^\{"error":"invalid_json","message":"the body is not JSON: [^"]+"\}\z



=== TEST 8: ip of the wrong type (number, boolean, object, array, null): 400 invalid_field
--- request eval
["POST /api/ip_query\n{\"ip\":134744072}", "POST /api/ip_query\n{\"ip\":true}",
 "POST /api/ip_query\n{\"ip\":{\"v\":\"8.8.8.8\"}}", "POST /api/ip_query\n{\"ip\":[\"8.8.8.8\"]}",
 "POST /api/ip_query\n{\"ip\":null}", "POST /api/ip_query\n{\"ip\":1e999}"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[('{"error":"invalid_field","message":"ip must be a string"}') x 6]



=== TEST 9: both ip and ips: 400 invalid_field (even when one is null)
--- request eval
["POST /api/ip_query\n{\"ip\":\"8.8.8.8\",\"ips\":[\"8.8.8.8\"]}",
 "POST /api/ip_query\n{\"ips\":[],\"ip\":\"8.8.8.8\"}",
 "POST /api/ip_query\n{\"ip\":null,\"ips\":[\"8.8.8.8\"]}"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[('{"error":"invalid_field","message":"give ip or ips, not both"}') x 3]



=== TEST 10: db of the wrong type (number, null, array, object, boolean): 400 invalid_field
--- request eval
["POST /api/ip_query\n{\"ip\":\"8.8.8.8\",\"db\":1}", "POST /api/ip_query\n{\"ip\":\"8.8.8.8\",\"db\":null}",
 "POST /api/ip_query\n{\"ip\":\"8.8.8.8\",\"db\":[\"b\"]}", "POST /api/ip_query\n{\"ips\":[],\"db\":{}}",
 "POST /api/ip_query\n{\"db\":false}"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[('{"error":"invalid_field","message":"db must be a string"}') x 5]



=== TEST 11: PUT, DELETE, PATCH, OPTIONS and other methods: 405 method_not_allowed with Allow: GET, HEAD, POST
--- request eval
["PUT /api/ip_query\n{\"ip\":\"8.8.8.8\"}", "DELETE /api/ip_query?ip=8.8.8.8", "PATCH /api/ip_query\n{}",
 "OPTIONS /api/ip_query", "PROPFIND /api/ip_query", "FOO /api/ip_query?ip=8.8.8.8"]
--- error_code eval
[405, 405, 405, 405, 405, 405]
--- response_headers eval
[("Allow: GET, HEAD, POST\nContent-Type: application/json; charset=utf-8") x 6]
--- response_body eval
['{"error":"method_not_allowed","message":"PUT is not allowed: use GET or POST"}',
 '{"error":"method_not_allowed","message":"DELETE is not allowed: use GET or POST"}',
 '{"error":"method_not_allowed","message":"PATCH is not allowed: use GET or POST"}',
 '{"error":"method_not_allowed","message":"OPTIONS is not allowed: use GET or POST"}',
 '{"error":"method_not_allowed","message":"PROPFIND is not allowed: use GET or POST"}',
 '{"error":"method_not_allowed","message":"FOO is not allowed: use GET or POST"}']



=== TEST 12: max_body (100 here): a body of 100 bytes is read, 101 bytes by Content-Length is 413 body_too_large
--- request eval
["POST /tiny\n{\"ip\":\"8.8.8.8\"" . (" " x 84) . "}",
 "POST /tiny\n{\"ip\":\"8.8.8.8\"" . (" " x 85) . "}",
 "POST /tiny\n" . ("x" x 100000)]
--- error_code eval
[200, 413, 413]
--- response_headers eval
[("Content-Type: application/json; charset=utf-8") x 3]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"body_too_large","message":"the body is over 100 bytes"}',
 '{"error":"body_too_large","message":"the body is over 100 bytes"}']



=== TEST 13: max_body: a chunked body (no Content-Length) over the limit is 413 once read
--- raw_request eval
"POST /tiny HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
" . sprintf("%x", 101) . "\r
{\"ip\":\"8.8.8.8\"" . (" " x 85) . "}\r
0\r
\r
"
--- error_code: 413
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"error":"body_too_large","message":"the body is over 100 bytes"}



=== TEST 14: the default max_body is 65536 bytes: 65537 is 413
--- request eval
"POST /api/ip_query\n{\"ip\":\"8.8.8.8\"" . (" " x (65537 - 16)) . "}"
--- error_code: 413
--- response_body chomp
{"error":"body_too_large","message":"the body is over 65536 bytes"}



=== TEST 15: the shipped server block (nginx-conf/ipgeo_api_server.conf): the API's 413 under nginx's limit, nginx's 413 as JSON above it
# The shipped file is included as it is, but for its listen address: it
# listens on 127.0.0.1:8080, which other runs may hold, so t::Ipgeo swaps in
# $TEST_NGINX_RAND_PORT_1. Requests go to it as raw bytes (t.http).
--- http_config eval
$t::Ipgeo::HttpConfig . "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . $t::Ipgeo::LuaHttp
. "    }\n" . $t::Ipgeo::ApiServer
--- config
    location = /t {
        content_by_lua_block {
            local http = require "t.http"
            local port = $TEST_NGINX_RAND_PORT_1
            local function post(body, chunked)
                local head = "POST /api/ip_query HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                if chunked then
                    local parts = {}
                    for at = 1, #body, 65536 do
                        local c = body:sub(at, at + 65535)
                        parts[#parts + 1] = string.format("%x\r\n", #c) .. c .. "\r\n"
                    end
                    return http.request(port, head .. "Transfer-Encoding: chunked\r\n\r\n"
                                        .. table.concat(parts) .. "0\r\n\r\n")
                end
                return http.request(port, head .. "Content-Length: " .. #body .. "\r\n\r\n" .. body)
            end
            local ip = '{"ip":"8.8.8.8"'
            for _, case in ipairs{
                { "60 KB", ip .. string.rep(" ", 60000) .. "}" },
                { "60 KB chunked", ip .. string.rep(" ", 60000) .. "}", true },
                { "100 KB", ip .. string.rep(" ", 100000) .. "}" },
                { "100 KB chunked", ip .. string.rep(" ", 100000) .. "}", true },
                { "1 MiB", ip .. string.rep(" ", 1048576 - 16) .. "}" },
                { "1 MiB + 1", ip .. string.rep(" ", 1048576 - 15) .. "}" },
                { "1 MiB + 1 chunked", ip .. string.rep(" ", 1048576 - 15) .. "}", true },
                { "2 MiB", ip .. string.rep(" ", 2097152) .. "}" },
            } do
                local status, headers, body = post(case[2], case[3])
                -- (nginx's own page ends with a newline, the API's answers do not.)
                ngx.say(case[1], " (", #case[2], " bytes): ", status, " ",
                        headers and headers["content-type"], " ", (body:gsub("\n$", "\\n")))
            end
        }
    }
--- request
GET /t
--- timeout: 10
--- response_body
60 KB (60016 bytes): 200 application/json; charset=utf-8 {"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}
60 KB chunked (60016 bytes): 200 application/json; charset=utf-8 {"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}
100 KB (100016 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 65536 bytes"}
100 KB chunked (100016 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 65536 bytes"}
1 MiB (1048576 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 65536 bytes"}
1 MiB + 1 (1048577 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 1 MiB"}\n
1 MiB + 1 chunked (1048577 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 1 MiB"}\n
2 MiB (2097168 bytes): 413 application/json; charset=utf-8 {"error":"body_too_large","message":"the body is over 1 MiB"}\n
--- error_log
client intended to send too large body: 1048577 bytes
client intended to send too large chunked body: 1048576+1 bytes
client intended to send too large body: 2097168 bytes
--- no_error_log
[alert]
[crit]



=== TEST 16: error responses never carry the table's attribution (there is no data in them)
--- request eval
["GET /api/ip_query?ip=198.51.100.1&db=api", "GET /api/ip_query?ip=x&db=api",
 "POST /api/ip_query\n{\"ip\":5,\"db\":\"api\"}"]
--- error_code eval
[404, 400, 400]
--- response_body eval
['{"error":"not_found","message":"no data for 198.51.100.1","ip":"198.51.100.1"}',
 '{"error":"invalid_ip","message":"invalid address: x"}',
 '{"error":"invalid_field","message":"ip must be a string"}']



=== TEST 17: unknown_database: the echoed name is escaped and bounded like an echoed address
--- request eval
"POST /api/ip_query\n{\"ip\":\"8.8.8.8\",\"db\":\"\xff\xfe" . ("d" x 1000) . "\"}"
--- error_code: 400
--- response_body_like: ^\{"error":"unknown_database","message":"[\x20-\x7e]{1,200}"\}$
