package Test::Nginx::Socket::Lua;

# =====================================================================
#  THIS IS NOT openresty/test-nginx.
#
#  ipgeo's minimal re-implementation of a documented subset of
#  Test::Nginx::Socket::Lua (openresty/test-nginx). Like the real one, it
#  is a thin subclass of Test::Nginx::Socket -- here ipgeo's subset in
#  ../Socket.pm, whose header lists exactly what is supported (see also
#  util/test-nginx-subset/README.md). The only Lua-specific feature of the
#  real module, TEST_NGINX_INIT_BY_LUA, is mirrored below.
#
#  Usage is the same as with the real module:
#      use Test::Nginx::Socket::Lua 'no_plan';
#      use Test::Nginx::Socket::Lua;  plan tests => N;
#      package t::Foo; use Test::Nginx::Socket::Lua -Base;   # wrappers
# =====================================================================

use strict;
use warnings;

# Lower-case "-base": subclass + re-export without Spiffy's source filter
# (the real module says "-Base"; it has no named subs, so the effect is
# the same).
use Test::Nginx::Socket -base;

our $VERSION = $Test::Nginx::Socket::VERSION;

# TEST_NGINX_INIT_BY_LUA: Lua code injected at the start of the block's
# init_by_lua '...' or init_by_lua_block { ... } (ignoring occurrences
# commented out with "#", "# " or "#  "), or appended to the http {}
# config as init_by_lua '...' when the block has neither. Blocks using
# init_by_lua_file are left alone. Same rules as the real module.
my $code = $ENV{TEST_NGINX_INIT_BY_LUA};

if ($code) {
    (my $quoted = $code) =~ s/\\/\\\\/g;
    $quoted =~ s/['"]/\\$&/g;
    my $not_commented = qr/(?<!\#  )(?<!\# )(?<!\#)/;

    Test::Nginx::Socket::set_http_config_filter(sub {
        my $config = shift;
        return $config if $config =~ /init_by_lua_file/;
        return $config
            if $config =~ s{${not_commented}init_by_lua\s*(['"])((?:\\.|.)*)\1\s*;}
                           {init_by_lua $1$quoted$2$1;}s;
        return $config
            if $config =~ s{${not_commented}init_by_lua_block\s*\{}
                           {init_by_lua_block \{ $code }s;
        return $config . "init_by_lua '$quoted';";
    });
}

1;
__END__

=head1 NAME

Test::Nginx::Socket::Lua - ipgeo's minimal re-implementation of a subset of
openresty/test-nginx's Test::Nginx::Socket::Lua (NOT the real module)

=head1 DESCRIPTION

See F<util/test-nginx-subset/README.md>.

=cut
