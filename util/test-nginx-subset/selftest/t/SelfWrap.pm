# Wrapper module used by selftest/003-wrapper.t. Mirrors the way a project
# wraps Test::Nginx (e.g. ipgeo's t/Ipgeo.pm): Test::Base's "-Base"
# convention makes this package a subclass that re-exports everything.
package t::SelfWrap;

use Test::Nginx::Socket::Lua -Base;

our @EXPORT = qw(selfwrap_greeting);

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

# (Spiffy's -Base source filter removes the empty prototype and adds no
# "$self" to subs declared with "()".)
sub selfwrap_greeting () {
    return "wrapped";
}

no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->config) {
        $block->set_value("config", <<'_END_');
    location = /t {
        content_by_lua_block {
            local x = ngx.var.arg_x
            ngx.say("wrapped", x and (" " .. x) or "")
        }
    }
_END_
    }

    if (!defined $block->request) {
        $block->set_value("request", "GET /t");
    }

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

1;
