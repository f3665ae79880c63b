# Self-test: a wrapper module (selftest/t/SelfWrap.pm, "package t::SelfWrap;
# use Test::Nginx::Socket::Lua -Base;") used as "use t::SelfWrap 'no_plan'"
# gives the test file all of Test::Nginx's and Test::Base's functions plus
# the wrapper's own exports and block preprocessor.
use lib 'selftest';
use t::SelfWrap 'no_plan';

# functions re-exported through the wrapper
is(selfwrap_greeting(), 'wrapped', 'wrapper export is visible');
ok(defined &repeat_each && defined &run_tests && defined &add_block_preprocessor
   && defined &env_to_nginx && defined &workers && defined &master_on
   && defined &no_long_string && defined &html_dir && defined &server_port
   && defined &server_root && defined &check_accum_error_log
   && defined &worker_connections && defined &no_root_location
   && defined &log_level && defined &server_name,
   'Test::Nginx functions are exported through the wrapper');
ok(defined &blocks && defined &like && defined &unlike && defined &is_deeply
   && defined &diag && defined &plan && defined &pass && defined &fail,
   'Test::Base / Test::More functions are exported through the wrapper');
is(scalar(blocks()), 3, 'blocks() counts the blocks');
like(html_dir(), qr{/html$}, 'html_dir()');
is($ENV{TEST_NGINX_HTML_DIR}, html_dir(), 'wrapper set TEST_NGINX_HTML_DIR');
is(server_root(), $ENV{TEST_NGINX_SERVER_ROOT}, 'TEST_NGINX_SERVER_ROOT');

repeat_each(2);
is(repeat_each(), 2, 'repeat_each() getter/setter');

run_tests();

__DATA__

=== TEST 1: config, request and no_error_log come from the wrapper
--- response_body
wrapped



=== TEST 2: a block can still override the wrapper's request
--- request
GET /t?x=42
--- response_body
wrapped 42



=== TEST 3: and its config
--- config
    location = /t {
        return 200 "own config\n";
    }
--- response_body
own config
