# The caller's own address (no ip in the request): ipgeo.client and the
# API's `trusted` / `header` options. X-Forwarded-For counts only from a
# trusted peer; trusted hops are skipped from the right; an invalid entry
# stops the walk; X-Real-IP (or any one-address header) mode; IPv6 CIDRs;
# at most 4096 bytes of header and 32 hops are read. The test client's peer
# address is always 127.0.0.1, which no test table has data for.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . <<'_EOC_';
        local api = require "ipgeo.api"
        package.loaded["t.api"] = {
            untrusted = api.new{ trusted = { "10.0.0.0/8", "::1" } },
            trusted = api.new{ trusted = { "127.0.0.1", "10.0.0.0/8", "2001:db8:1::/48" } },
            real_ip = api.new{ trusted = { "127.0.0.0/8" }, header = "X-Real-IP" },
            cf = api.new{ trusted = { "127.0.0.1/32" }, header = "CF-Connecting-IP" },
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location = /api/ip_query {
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /untrusted {
        content_by_lua_block { require("t.api").untrusted:serve() }
    }
    location = /trusted {
        content_by_lua_block { require("t.api").trusted:serve() }
    }
    location = /real-ip {
        content_by_lua_block { require("t.api").real_ip:serve() }
    }
    location = /cf {
        content_by_lua_block { require("t.api").cf:serve() }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('config', $Config) if !defined $block->config;
});

our $Peer = '{"error":"not_found","message":"no data for 127.0.0.1","ip":"127.0.0.1"}';
our $US = '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}';
our $AU = '{"ip":"1.0.0.1","network":"1.0.0.0/24","country_code":"AU","country":"Australia","province":"Queensland","city":"Brisbane","asn":13335,"latitude":-27.4679,"longitude":153.0281}';

run_tests();

__DATA__

=== TEST 1: the default handler trusts no proxy: X-Forwarded-For and X-Real-IP are ignored
--- request eval
["GET /api/ip_query", "POST /api/ip_query\n{}", "GET /api/ip_query"]
--- more_headers eval
["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 8.8.8.8", "X-Real-IP: 8.8.8.8"]
--- error_code eval
[404, 404, 404]
--- response_body eval
[$::Peer, $::Peer, $::Peer]



=== TEST 2: X-Forwarded-For from a peer that is not a trusted proxy is ignored
--- request eval
["GET /untrusted", "POST /untrusted\n{}"]
--- more_headers eval
["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 1.0.0.1, 10.0.0.1"]
--- error_code eval
[404, 404]
--- response_body eval
[$::Peer, $::Peer]



=== TEST 3: X-Forwarded-For from a trusted peer is honoured, for GET and POST without an address
--- request eval
["GET /trusted", "POST /trusted\n{}", "POST /trusted\n{\"db\":\"b\"}"]
--- more_headers eval
["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 1.0.0.1", "X-Forwarded-For: 203.0.113.7"]
--- response_body eval
[$::US, $::AU,
 '{"ip":"203.0.113.7","network":"203.0.113.0/24","country_code":"KR","country":"South Korea","province":"Seoul","city":"Seoul","asn":4766,"latitude":37.566,"longitude":126.9784}']



=== TEST 4: an explicit address in the request wins over X-Forwarded-For
--- request eval
["GET /trusted?ip=1.0.0.1", "POST /trusted\n{\"ip\":\"1.0.0.1\"}"]
--- more_headers eval
["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 8.8.8.8"]
--- response_body eval
[$::AU, $::AU]



=== TEST 5: trusted hops are skipped from the right, up to the first address that is not trusted
--- request eval
["GET /trusted", "GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: 1.0.0.1, 8.8.8.8, 10.0.0.1, 10.2.3.4",
 "X-Forwarded-For: 8.8.8.8,10.0.0.1 ,   10.255.255.255",
 "X-Forwarded-For: 8.8.8.8, 1.0.0.1, 10.0.0.1"]
--- response_body eval
[$::US, $::US, $::AU]



=== TEST 6: when every hop is a trusted proxy, the leftmost one is the client
--- request
GET /trusted
--- more_headers
X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3
--- response_body chomp
{"ip":"10.0.0.1","network":"10.0.0.0/8","asn":64512}



=== TEST 7: an invalid entry stops the walk: the last valid hop to its right, or the peer; ports and brackets are taken off, empty entries skipped
--- request eval
["GET /trusted", "GET /trusted", "GET /trusted", "GET /trusted", "GET /trusted", "GET /trusted", "GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: 8.8.8.8, unknown, 10.0.0.1",
 "X-Forwarded-For: 8.8.8.8, garbage",
 "X-Forwarded-For: 8.8.8.8:443",
 "X-Forwarded-For: [2400:3200::1]:8443",
 "X-Forwarded-For: 8.8.8.8, 08.8.8.8",
 "X-Forwarded-For: 8.8.8.8, 10.0.0.1/8",
 "X-Forwarded-For: 8.8.8.8, , ",
 "X-Forwarded-For: 8.8.8.8:abc"]
--- error_code eval
[200, 404, 200, 200, 404, 404, 200, 404]
--- response_body eval
['{"ip":"10.0.0.1","network":"10.0.0.0/8","asn":64512}', $::Peer,
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 '{"ip":"2400:3200::1","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","asn":37963,"latitude":30.2936,"longitude":120.1614}',
 $::Peer, $::Peer,
 '{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}',
 $::Peer]



=== TEST 8: several X-Forwarded-For header lines read as one list, in order
--- request eval
["GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: 1.0.0.1\nX-Forwarded-For: 8.8.8.8",
 "X-Forwarded-For: 1.0.0.1\nX-Forwarded-For: 10.0.0.9"]
--- response_body eval
[$::US, $::AU]



=== TEST 9: IPv6: clients and trusted IPv6 CIDRs in X-Forwarded-For
--- request eval
["GET /trusted", "GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: 2400:3200::1, 2001:db8:1::5",
 "X-Forwarded-For: 2400:3200::1, 2001:db8:2::5",
 "X-Forwarded-For: 8.8.8.8, 2001:db8:1:ffff:ffff:ffff:ffff:ffff, 10.0.0.1"]
--- response_body eval
['{"ip":"2400:3200::1","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","asn":37963,"latitude":30.2936,"longitude":120.1614}',
 '{"ip":"2001:db8:2::5","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897}',
 $::US]



=== TEST 10: header = "X-Real-IP": one address, trimmed, from a trusted peer; X-Forwarded-For is not read
--- request eval
["GET /real-ip", "GET /real-ip", "GET /real-ip", "GET /real-ip", "GET /real-ip"]
--- more_headers eval
["X-Real-IP: 8.8.8.8",
 "X-Real-IP: 2400:3200::1",
 "X-Real-IP: 8.8.8.8, 1.0.0.1",
 "X-Real-IP: garbage",
 "X-Forwarded-For: 8.8.8.8"]
--- error_code eval
[200, 200, 404, 404, 404]
--- response_body eval
[$::US,
 '{"ip":"2400:3200::1","network":"2400:3200::/32","country_code":"CN","country":"China","province":"Zhejiang","city":"Hangzhou","asn":37963,"latitude":30.2936,"longitude":120.1614}',
 $::Peer, $::Peer, $::Peer]



=== TEST 11: any header name works in one-address mode (CF-Connecting-IP)
--- request eval
["GET /cf", "GET /cf"]
--- more_headers eval
["CF-Connecting-IP: 1.0.0.1", "X-Forwarded-For: 1.0.0.1"]
--- error_code eval
[200, 404]
--- response_body eval
[$::AU, $::Peer]



=== TEST 12: at most 4096 bytes of X-Forwarded-For are read: 4096 is honoured, 4097 is ignored
--- request eval
["GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: 1.0.0.1," . (" " x (4096 - 15)) . "8.8.8.8",
 "X-Forwarded-For: 1.0.0.1," . (" " x (4097 - 15)) . "8.8.8.8"]
--- error_code eval
[200, 404]
--- response_body eval
[$::US, $::Peer]



=== TEST 13: at most 32 hops are read: a client behind 31 trusted hops is found, behind 32 the 32nd hop is answered
--- request eval
["GET /trusted", "GET /trusted"]
--- more_headers eval
["X-Forwarded-For: " . CORE::join(", ", "8.8.8.8", map { "10.0.0.$_" } 1 .. 31),
 "X-Forwarded-For: " . CORE::join(", ", "8.8.8.8", map { "10.0.0.$_" } 1 .. 32)]
--- response_body eval
[$::US, '{"ip":"10.0.0.1","network":"10.0.0.0/8","asn":64512}']



=== TEST 14: client:is_trusted(): IPv4 and IPv6 CIDRs, prefixes not on byte boundaries, /0, single addresses
--- config
    location = /t {
        content_by_lua_block {
            local client = require "ipgeo.client"
            local c = client.new{ trusted = { "10.0.0.0/8", "192.168.1.1", "172.16.0.0/12",
                                              "2001:db8::/32", "2001:db8:8000::/33", "fe80::/10",
                                              "::1", "2400:3200::/127" } }
            for _, ip in ipairs{
                "10.0.0.0", "10.255.255.255", "11.0.0.0", "9.255.255.255", "192.168.1.1",
                "192.168.1.2", "172.16.0.1", "172.31.255.255", "172.32.0.0", "172.15.255.255",
                "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "2001:db7:ffff::",
                "fe80::1", "febf:ffff::1", "fec0::", "::1", "::2", "::",
                "2400:3200::", "2400:3200::1", "2400:3200::2", "::ffff:10.0.0.1",
                "10.0.0.1 ", "garbage", "", "10.0.0.0/8",
            } do
                ngx.say(string.format("%-40s", "\"" .. ip .. "\""), " ", c:is_trusted(ip))
            end
            local all = client.new{ trusted = { "0.0.0.0/0", "::/0" } }
            ngx.say("/0: ", all:is_trusted("1.2.3.4"), " ", all:is_trusted("255.255.255.255"), " ",
                    all:is_trusted("ffff::1"), " ", all:is_trusted("nope"))
            local none = client.new()
            ngx.say("no trusted proxies: ", none:is_trusted("127.0.0.1"), " ", none:is_trusted("::1"))
        }
    }
--- request
GET /t
--- response_body
"10.0.0.0"                               true
"10.255.255.255"                         true
"11.0.0.0"                               false
"9.255.255.255"                          false
"192.168.1.1"                            true
"192.168.1.2"                            false
"172.16.0.1"                             true
"172.31.255.255"                         true
"172.32.0.0"                             false
"172.15.255.255"                         false
"2001:db8::"                             true
"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" true
"2001:db9::"                             false
"2001:db7:ffff::"                        false
"fe80::1"                                true
"febf:ffff::1"                           true
"fec0::"                                 false
"::1"                                    true
"::2"                                    false
"::"                                     false
"2400:3200::"                            true
"2400:3200::1"                           true
"2400:3200::2"                           false
"::ffff:10.0.0.1"                        true
"10.0.0.1 "                              false
"garbage"                                false
""                                       false
"10.0.0.0/8"                             false
/0: true true true false
no trusted proxies: false false



=== TEST 15: client:ip(): recursive = false takes the rightmost entry even when it is a trusted proxy
--- config
    location = /t {
        content_by_lua_block {
            local client = require "ipgeo.client"
            local flat = client.new{ trusted = { "127.0.0.1", "10.0.0.0/8" }, recursive = false }
            local deep = client.new{ trusted = { "127.0.0.1", "10.0.0.0/8" } }
            ngx.say("recursive = false: ", flat:ip())
            ngx.say("recursive (default): ", deep:ip())
        }
    }
--- request
GET /t
--- more_headers
X-Forwarded-For: 8.8.8.8, 10.0.0.7
--- response_body
recursive = false: 10.0.0.7
recursive (default): 8.8.8.8



=== TEST 16: client.new() rejects misused options
--- config
    location = /t {
        content_by_lua_block {
            local client = require "ipgeo.client"
            for _, opts in ipairs{
                "x", { trusted = { 10 } }, { trusted = { "10.0.0.0/33" } }, { trusted = { "::/129" } },
                { trusted = { "10.0.0.0/-1" } }, { trusted = { "10.0.0.0/" } }, { trusted = { "host.example" } },
                { trusted = { "10.0.0.0 /8" } }, { header = 5 },
            } do
                local ok, err = pcall(client.new, opts)
                ngx.say(ok, " ", (tostring(err):gsub("^[^:]+:%d+: ", "")))
            end
        }
    }
--- request
GET /t
--- response_body
false opts must be a table
false opts.trusted[1]: not a string
false opts.trusted[1]: bad prefix length in 10.0.0.0/33
false opts.trusted[1]: bad prefix length in ::/129
false opts.trusted[1]: bad address 10.0.0.0/-1
false opts.trusted[1]: bad address 10.0.0.0/
false opts.trusted[1]: bad address host.example
false opts.trusted[1]: bad address 10.0.0.0 
false opts.header must be a string
