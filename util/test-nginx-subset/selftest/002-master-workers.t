# Self-test: workers(2) + master_on(), no_root_location(), an explicit
# plan (checks that the number of subtests per block matches the real
# harness' counting rules), and shuffled block order (no no_shuffle()).
use Test::Nginx::Socket::Lua;

repeat_each(2);
workers(2);
master_on();
no_root_location();
worker_connections(128);
log_level('warn');

# Per repetition: status code + response_body + one no_error_log pattern
# = 3 subtests for every block, plus 2 extra response_headers subtests in
# TEST 3 and 1 extra error_log subtest in TEST 4.
plan tests => repeat_each() * (blocks() * 3 + 2 + 1);

run_tests();

__DATA__

=== TEST 1: two worker processes under a master process
--- config
    location = /t {
        content_by_lua_block {
            local f = assert(io.open("$TEST_NGINX_SERVER_ROOT/logs/nginx.pid"))
            local master = tonumber(f:read("*a"))
            f:close()
            ngx.say("workers: ", ngx.worker.count(),
                    ", master differs from worker: ", master ~= ngx.worker.pid())
        }
    }
--- request
GET /t
--- response_body
workers: 2, master differs from worker: true
--- no_error_log
[error]



=== TEST 2: no_root_location() lets a block define its own "location /"
--- config
    location / {
        return 200 "own root location\n";
    }
--- request
GET /
--- response_body
own root location
--- no_error_log
[emerg]



=== TEST 3: response headers (2 extra subtests)
--- config
    location = /h {
        content_by_lua_block {
            ngx.header["X-Worker-Count"] = ngx.worker.count()
            ngx.say("h")
        }
    }
--- request
GET /h
--- response_headers
X-Worker-Count: 2
!X-Nope
--- response_body
h
--- no_error_log
[error]



=== TEST 4: error_log + no_error_log (1 extra subtest)
--- config
    location = /e {
        content_by_lua_block {
            ngx.log(ngx.WARN, "worker ", ngx.worker.id(), " says hi")
            ngx.say("e")
        }
    }
--- request
GET /e
--- response_body
e
--- error_log eval
qr/worker [01] says hi/
--- no_error_log
[error]
