# Self-test of ipgeo's Test::Nginx subset runner: one passing block (or
# more) per supported section, run twice each (repeat_each(2)) against the
# real nginx + lua module. Written in plain Test::Nginx::Socket::Lua
# format: it must also pass under the real Test::Nginx.
use Test::Nginx::Socket::Lua 'no_plan';

repeat_each(2);
no_shuffle();
log_level('info');

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
$ENV{TEST_NGINX_SELFTEST_GREETING} = 'hello-from-env';
$ENV{IPGEO_SELFTEST_BAZ} = 'baz value';
env_to_nginx('IPGEO_SELFTEST_FOO=bar', 'IPGEO_SELFTEST_BAZ');

our $HttpConfig = <<'_EOC_';
    lua_shared_dict selftest 1m;
    init_worker_by_lua_block {
        ngx.log(ngx.NOTICE, "selftest worker started")
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->request && !defined $block->pipelined_requests
        && !defined $block->raw_request)
    {
        $block->set_value("request", "GET /t");
    }
});

run_tests();

__DATA__

=== TEST 1: content_by_lua_block, default request from the preprocessor
--- http_config eval: $::HttpConfig
--- config
    location = /t {
        content_by_lua_block {
            ngx.shared.selftest:set("k", "v")
            ngx.say("ok ", ngx.shared.selftest:get("k"))
        }
    }
--- response_body
ok v
--- no_error_log
[error]
[warn]



=== TEST 2: no --- config section: the previous block's nginx is reused
--- response_body
ok v
--- no_error_log
[error]



=== TEST 3: POST body (trimmed, Content-Length added) and more_headers
--- config
    location = /echo {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.req.get_method(), "|", ngx.req.get_body_data(), "|",
                    ngx.var.http_content_length, "|", ngx.var.http_x_foo, "|",
                    ngx.var.content_type, "|", ngx.var.http_connection, "|",
                    ngx.var.host)
        }
    }
--- request
POST /echo
hello world
--- more_headers
X-Foo: bar
Content-Type: text/x-selftest
--- response_body
POST|hello world|11|bar|text/x-selftest|close|localhost



=== TEST 4: comment lines before the request line, HTTP/1.0, Host override
--- config
    location = /v {
        content_by_lua_block {
            ngx.say(ngx.req.http_version(), " ", ngx.var.host, " ", ngx.var.arg_a)
        }
    }
--- request
# a comment line
# and another one
GET /v?a=1 HTTP/1.0
--- more_headers
Host: example.com
--- response_body
1 example.com 1



=== TEST 5: response_headers: present, "!Name" absent, "Name:" empty
--- config
    location = /t {
        content_by_lua_block {
            ngx.header["X-Present"] = "yes"
            ngx.header["X-Multi"] = {"a", "b"}
            ngx.say("hdrs")
        }
    }
--- response_headers
X-Present: yes
X-Multi: a, b
!X-Absent
X-Also-Absent:
Content-Type: text/plain
--- response_body
hdrs



=== TEST 6: response_headers_like and raw_response_headers_like/unlike
--- config
    location = /t {
        content_by_lua_block {
            ngx.header["X-Num"] = "12345"
            ngx.say("x")
        }
    }
--- response_headers_like
X-Num: \d+
Server: nginx.*
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- raw_response_headers_unlike: X-Absent
--- response_body
x



=== TEST 7: Content-Length response, HEAD request
--- config
    location = /fixed {
        return 200 "fixed\n";
    }
--- request
HEAD /fixed
--- response_headers
Content-Length: 6
!Transfer-Encoding
--- response_body eval
""



=== TEST 8: chunked response with several chunks
--- config
    location = /t {
        content_by_lua_block {
            for i = 1, 3 do
                ngx.say("chunk ", i)
                ngx.flush(true)
            end
        }
    }
--- response_headers
Transfer-Encoding: chunked
--- response_body
chunk 1
chunk 2
chunk 3



=== TEST 9: error_code, response_body_like
--- config
    location = /t {
        return 404 "nope\n";
    }
--- error_code: 404
--- response_body_like: ^nope$



=== TEST 10: error_code_like, response_body_unlike
--- config
    location = /t {
        return 410 "gone for good\n";
    }
--- error_code_like: ^41\d$
--- response_body_unlike
^not this



=== TEST 11: error_log (substring lines) and error_log eval (qr// and strings)
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "selftest marker ", 42)
            ngx.log(ngx.ERR, "an (expected) error line")
            ngx.say("logged")
        }
    }
--- response_body
logged
--- error_log
selftest marker 42
[error]
--- no_error_log eval
[qr/selftest marker \d{3}/, "marker 43"]



=== TEST 12: error_log eval with a single regex
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "value=", ngx.var.arg_v or "none")
            ngx.say("ok")
        }
    }
--- request
GET /t?v=7
--- response_body
ok
--- error_log eval
qr/\[warn\] .*? value=7\b/



=== TEST 13: error log is checked per repetition (startup lines only in req 0)
--- http_config eval: $::HttpConfig
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "grep-me: ", 1)
            ngx.log(ngx.WARN, "grep-me: ", 2)
            ngx.say("ok")
        }
    }
--- response_body
ok
--- grep_error_log eval: qr/grep-me: \d+|selftest worker started/
--- grep_error_log_out eval
["selftest worker started\ngrep-me: 1\ngrep-me: 2\n",
 "grep-me: 1\ngrep-me: 2\n"]



=== TEST 14: grep_error_log with a literal pattern
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "literal-grep here")
            ngx.log(ngx.WARN, "literal-grep there")
            ngx.say("ok")
        }
    }
--- response_body
ok
--- grep_error_log chop
literal-grep
--- grep_error_log_out
literal-grep
literal-grep



=== TEST 15: pipelined_requests share one keep-alive connection
--- config
    location = /p {
        content_by_lua_block {
            ngx.say("n=", ngx.var.arg_n, " req#", ngx.var.connection_requests,
                    " conn=", ngx.var.http_connection)
        }
    }
--- pipelined_requests eval
["GET /p?n=1", "GET /p?n=2"]
--- error_code eval
[200, 200]
--- response_body eval
["n=1 req#1 conn=keep-alive\n", "n=2 req#2 conn=close\n"]



=== TEST 16: request eval arrayref: one connection per request
--- config
    location = /a {
        content_by_lua_block {
            ngx.say("a req#", ngx.var.connection_requests)
        }
    }
    location = /b {
        return 404 "b\n";
    }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 404]
--- response_body eval
["a req#1\n", "b\n"]



=== TEST 17: request eval returning a single string (with a body)
--- config
    location = /echo {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("[", ngx.req.get_body_data(), "]")
        }
    }
--- request eval
"POST /echo\n" . "x" x 5
--- response_body
[xxxxx]



=== TEST 18: user_files (root location and $TEST_NGINX_HTML_DIR)
--- config
    location = /uf {
        alias $TEST_NGINX_HTML_DIR/sub/dir/bar.txt;
    }
--- user_files
>>> foo.txt
hello from foo
>>> sub/dir/bar.txt
bar contents
--- request eval
["GET /foo.txt", "GET /uf", "GET /index.html"]
--- response_body eval
["hello from foo\n", "bar contents\n",
 "<html><head><title>It works!</title></head><body>It works!</body></html>"]



=== TEST 19: user_files eval (array form)
--- config
--- user_files eval
[["arr.txt", "from array\n"]]
--- request
GET /arr.txt
--- response_body
from array



=== TEST 20: main_config and env_to_nginx
--- main_config
    env IPGEO_SELFTEST_MAIN=from-main-config;
--- config
    location = /t {
        content_by_lua_block {
            ngx.say(os.getenv("IPGEO_SELFTEST_FOO"), "|",
                    os.getenv("IPGEO_SELFTEST_BAZ"), "|",
                    os.getenv("IPGEO_SELFTEST_MAIN"))
        }
    }
--- response_body
bar|baz value|from-main-config



=== TEST 21: $TEST_NGINX_* expansion, TEST_NGINX_RAND_PORT_1, $ServerPort
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            return 200 "rand port server\n";
        }
    }
--- config
    location = /t {
        content_by_lua_block {
            ngx.say("$TEST_NGINX_SELFTEST_GREETING port: ", ngx.var.server_port)
            ngx.say("root ok: ", "$TEST_NGINX_SERVER_ROOT" == "$TEST_NGINX_SERVER_ROOT" and "$TEST_NGINX_SERVER_ROOT" ~= "")
        }
    }
    location = /self {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t;
    }
    location = /rand {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
--- request eval
["GET /self", "GET /rand"]
--- response_body eval
["hello-from-env port: \$ServerPort\nroot ok: true\n", "rand port server\n"]



=== TEST 22: per-block log_level overrides log_level()
--- log_level: warn
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.INFO, "info-level-msg")
            ngx.log(ngx.WARN, "warn-level-msg")
            ngx.say("ok")
        }
    }
--- response_body
ok
--- error_log
warn-level-msg
--- no_error_log
info-level-msg



=== TEST 23: global log_level('info') is in effect
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.DEBUG, "debug-level-msg")
            ngx.log(ngx.INFO, "info-level-msg")
            ngx.say("ok")
        }
    }
--- response_body
ok
--- error_log
info-level-msg
--- no_error_log
debug-level-msg



=== TEST 24: timeout (longer than the handler) and wait (for a timer's log)
--- config
    location = /t {
        content_by_lua_block {
            ngx.sleep(0.2)
            ngx.timer.at(0.2, function()
                ngx.log(ngx.WARN, "timer fired after the response")
            end)
            ngx.say("slept")
        }
    }
--- timeout: 2
--- wait: 0.5
--- response_body
slept
--- error_log
timer fired after the response



=== TEST 25: timeout with a unit
--- config
    location = /t {
        content_by_lua_block { ngx.sleep(0.05) ngx.say("ok") }
    }
--- timeout: 1500ms
--- response_body
ok



=== TEST 26: must_die with an invalid directive; error_log sees the [emerg]
--- config
    location = /t {
        no_such_directive_xyz on;
    }
--- must_die
--- error_log
[emerg]
unknown directive "no_such_directive_xyz"
--- no_error_log
[alert]



=== TEST 27: must_die with an expected exit code
--- config
    location = /t {
        return 200 "ok";
    }
--- http_config
    upstream bad_upstream {
        server 127.0.0.1:1 bogus_param;
    }
--- must_die: 1
--- error_log eval
qr/\[emerg\] .*invalid parameter "bogus_param"/



=== TEST 28: raw_request (HTTP/1.0, no chunking)
--- config
    location = /t {
        content_by_lua_block { ngx.say("raw ", ngx.req.http_version()) }
    }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_headers
!Transfer-Encoding
--- response_body
raw 1



=== TEST 29: raw_request split in pieces with a middle delay
--- config
    location = /t {
        content_by_lua_block { ngx.say("pieces ", ngx.var.http_x_a) }
    }
--- raw_request eval
["GET /t HTTP/1.1\r\nHost: localhost\r\n",
 "X-A: 1\r\nConnection: close\r\n\r\n"]
--- raw_request_middle_delay: 0.05
--- response_body
pieces 1



=== TEST 30: skip_nginx skips N subtests per repetition (nginx is not started)
--- config
    location = /t { no_such_directive_either; }
--- skip_nginx
3: >= 0.1.0
--- response_body
never checked



=== TEST 31: SKIP blocks are dropped by Test::Base
--- SKIP
--- config
    location = /t { no_such_directive_either; }
--- response_body
never checked



=== TEST 32: ignore_response: only the error log is checked
--- config
    location = /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "ignored response logged")
            ngx.exit(503)
        }
    }
--- ignore_response
--- error_log
ignored response logged



=== TEST 33: ignore_response_body is accepted (a wrapper convention)
--- config
    location = /t {
        return 200 "whatever\n";
    }
--- ignore_response_body
--- no_error_log
[error]



=== TEST 34: response_body with a regex (eval qr)
--- config
    location = /t {
        content_by_lua_block { ngx.say("time: ", ngx.now()) }
    }
--- response_body eval
qr/^time: \d+(\.\d+)?\n\z/



=== TEST 35: server_name section
--- server_name: selftest.example
--- config
    location = /t {
        content_by_lua_block { ngx.say(ngx.var.server_name) }
    }
--- response_body
selftest.example



=== TEST 36: more_headers with comments and Content-Length given explicitly
--- config
    location = /echo {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("[", ngx.req.get_body_data(), "]")
        }
    }
--- more_headers
# a comment in more_headers
Content-Length: 4
--- request eval
"POST /echo\nab\n\n"
--- response_body eval
"[ab\n\n]\n"
