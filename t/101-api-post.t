# ipgeo.api, POST {"ip": ...}: one address from a JSON body, with db; no ip:
# the caller's own address; the body decides over the query string; any
# Content-Type; chunked bodies; an allow_db = false handler refuses db;
# lua-cjson's parsing (duplicate keys, \u escapes, surrounding whitespace).
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . <<'_EOC_';
        local api = require "ipgeo.api"
        package.loaded["t.api"] = {
            nodb = api.new{ allow_db = false },
            timed = api.new{ timing = true },
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /nodb {
        content_by_lua_block { require("t.api").nodb:serve() }
    }
    location = /timed {
        content_by_lua_block { require("t.api").timed:serve() }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('config', $Config) if !defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: POST {"ip": IPv4}: 200 and the record, as GET answers it
--- request
POST /api/ip_query
{"ip": "8.8.8.8"}
--- response_headers
Content-Type: application/json; charset=utf-8
!X-Ipgeo-Time
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}



=== TEST 2: POST {"ip": IPv6} and {"ip": IPv4-mapped}
--- request eval
["POST /api/ip_query\n{\"ip\":\"2400:3200::1\"}",
 "POST /api/ip_query\n{\"ip\":\"::ffff:114.114.114.114\"}"]
--- response_body eval
['{"ip":"2400:3200::1","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","asn":37963,"latitude":30.2936,"longitude":120.1614}',
 '{"ip":"::ffff:114.114.114.114","network":"::ffff:114.114.114.0/120","country_code":"CN","country":"China","province":"Jiangsu","city":"Nanjing","asn":21859,"latitude":32.0617,"longitude":118.7778}']



=== TEST 3: POST {"ip": ..., "db": ...} picks another database (names, attribution)
--- request eval
["POST /api/ip_query\n{\"ip\":\"2001:db8::1\",\"db\":\"b\"}",
 "POST /api/ip_query\n{\"db\":\"lang\",\"ip\":\"114.114.114.1\"}",
 "POST /api/ip_query\n{\"db\":\"api\",\"ip\":\"2001:db8:1::1\"}",
 "POST /api/ip_query\n{\"db\":\"default\",\"ip\":\"1.0.0.1\"}"]
--- response_body eval
['{"ip":"2001:db8::1","network":"2001:db8::/32","country_code":"SE","country":"Sweden","province":"Stockholm","city":"Stockholm","asn":64497,"latitude":59.3326,"longitude":18.0649}',
 '{"ip":"114.114.114.1","network":"114.114.114.0/24","country_code":"CN","country":"China","province":"Jiangsu","city":"Nanjing","accuracy_radius":50,"names":{"city":{"en":"Nanjing","zh-CN":"南京"},"country":{"en":"China","zh-CN":"中国"},"province":{"en":"Jiangsu","zh-CN":"江苏省"}}}',
 '{"ip":"2001:db8:1::1","network":"2001:db8:1::/48","country_code":"JP","country":"Japan","continent_code":"AS","continent":"Asia","province":"Tokyo","province_code":"13","city":"Tokyo","asn":1,"latitude":0.5,"longitude":-0.25,"accuracy_radius":1,"timezone":"Asia/Tokyo","attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}',
 '{"ip":"1.0.0.1","network":"1.0.0.0/24","country_code":"AU","country":"Australia","province":"Queensland","city":"Brisbane","asn":13335,"latitude":-27.4679,"longitude":153.0281}']



=== TEST 4: POST {} (or only db): the caller's own address, 127.0.0.1: 404 with "ip"
--- request eval
["POST /api/ip_query\n{}", "POST /api/ip_query\n{\"db\":\"b\"}", "POST /api/ip_query\n{\"other\":\"8.8.8.8\"}"]
--- error_code eval
[404, 404, 404]
--- response_body eval
['{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}',
 '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}']



=== TEST 5: POST: an address without data: 404 not_found with "ip"
--- request
POST /api/ip_query
{"ip":"2001:db9::1"}
--- error_code: 404
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"error":"not_found","message":"no data for 2001:db9::1","ip":"2001:db9::1"}



=== TEST 6: POST: the body decides, ip= and db= in the query string are not read
--- request eval
["POST /api/ip_query?ip=8.8.8.8&db=b\n{\"ip\":\"1.0.0.1\"}"]
--- response_body eval
['{"ip":"1.0.0.1","network":"1.0.0.0/24","country_code":"AU","country":"Australia","province":"Queensland","city":"Brisbane","asn":13335,"latitude":-27.4679,"longitude":153.0281}']



=== TEST 7: POST: the request's Content-Type does not matter
--- request eval
["POST /api/ip_query\n{\"ip\":\"8.8.8.8\"}", "POST /api/ip_query\n{\"ip\":\"8.8.8.8\"}",
 "POST /api/ip_query\n{\"ip\":\"8.8.8.8\"}"]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded", "Content-Type: text/plain; charset=utf-16",
 "Content-Type: application/json"]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}']



=== TEST 8: POST with a chunked body (no Content-Length)
--- raw_request eval
"POST /api/ip_query HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
7\r
{\"ip\":\"\r
b\r
1.0.0.1\"}  \r
0\r
\r
"
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"ip":"1.0.0.1","network":"1.0.0.0/24","country_code":"AU","country":"Australia","province":"Queensland","city":"Brisbane","asn":13335,"latitude":-27.4679,"longitude":153.0281}



=== TEST 9: an allow_db = false handler refuses "db" naming another database, accepts its own
--- request eval
["POST /nodb\n{\"ip\":\"8.8.8.8\",\"db\":\"b\"}",
 "POST /nodb\n{\"ip\":\"8.8.8.8\",\"db\":\"nope\"}",
 "POST /nodb\n{\"ip\":\"8.8.8.8\",\"db\":\"default\"}",
 "POST /nodb\n{\"ips\":[\"8.8.8.8\"],\"db\":\"b\"}"]
--- error_code eval
[400, 400, 200, 400]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
['{"error":"invalid_field","message":"the db parameter is not allowed here"}',
 '{"error":"invalid_field","message":"the db parameter is not allowed here"}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"error":"invalid_field","message":"the db parameter is not allowed here"}']



=== TEST 10: JSON details (lua-cjson): the last of duplicate keys counts, \u escapes, whitespace inside
--- request eval
["POST /api/ip_query\n{\"ip\":\"192.0.2.1\",\"ip\":\"8.8.8.8\"}",
 "POST /api/ip_query\n{\"ip\":\"\\u0038.8.8.\\u0038\"}",
 "POST /api/ip_query\n{ \"ip\" :\r\n\t\"8.8.8.8\" }"]
--- response_body eval
['{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}']



=== TEST 11: whitespace around the JSON is fine
--- raw_request eval
"POST /api/ip_query HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 28\r
\r
 \t\r\n {\"ip\" : \"8.8.8.8\"} \r\n\t "
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}



=== TEST 12: a body of exactly max_body bytes (65536, the default) is read, with a body buffer that holds it
--- config
    location = /api/ip_query {
        client_body_buffer_size 64k;
        content_by_lua_block { require("ipgeo.api").serve() }
    }
--- request eval
"POST /api/ip_query\n{\"ip\":\"8.8.8.8\"" . (" " x (65536 - 16)) . "}"
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}



=== TEST 13: new{ timing = true }: X-Ipgeo-Time on POST answers (a number)
--- request eval
["POST /timed\n{\"ip\":\"8.8.8.8\"}", "POST /timed\n{\"ip\":5}"]
--- error_code eval
[200, 400]
--- response_headers_like eval
["X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$",
 "X-Ipgeo-Time: ^[0-9]+(?:\\.[0-9]+)?(?:e[-+]?[0-9]+)?\$"]



=== TEST 14: a body under max_body is read with nginx's default client_body_buffer_size too
--- request eval
"POST /api/ip_query\n{\"ip\":\"8.8.8.8\"" . (" " x 20000) . "}"
--- response_body chomp
{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}
