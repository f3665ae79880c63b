//! Conformance with MaxMind's test databases: for every network listed in
//! the `source-data` JSON of the City, Country, ASN and ISP test databases,
//! the table built from the `.mmdb` answers the same values for the fields
//! it carries, at the network's first and last address, IPv4 and IPv6.
//!
//! The expected values are derived from the JSON here, independently of the
//! importer. Where the JSON lists overlapping networks, the database answers
//! with the more specific one; such probes are checked against the
//! reference reader's answer instead, and counted.

mod common;

use std::net::{IpAddr, Ipv6Addr};

use ipgeo::field::{Field, Value};
use ipgeo::table::Table;
use maxminddb::Reader;
use serde_json::Value as J;

const LANGS: [&str; 2] = ["en", "zh-CN"];

/// `(field, language, value)` the JSON record implies.
fn expected(rec: &J) -> Vec<(Field, Option<u8>, Value)> {
    let mut out = Vec::new();
    let str_at = |path: &[&str]| -> Option<String> {
        let mut v = rec;
        for p in path {
            v = v.get(p)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let num_at = |path: &[&str]| -> Option<&J> {
        let mut v = rec;
        for p in path {
            v = v.get(p)?;
        }
        Some(v)
    };
    let mut push_str = |f: Field, l: Option<u8>, s: Option<String>| {
        if let Some(s) = s {
            out.push((f, l, Value::Str(s.into())));
        }
    };
    push_str(Field::CountryCode, None, str_at(&["country", "iso_code"]));
    push_str(Field::ContinentCode, None, str_at(&["continent", "code"]));
    let sub0 = rec.get("subdivisions").and_then(|s| s.get(0));
    push_str(
        Field::ProvinceCode,
        None,
        sub0.and_then(|s| s.get("iso_code"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
    );
    push_str(Field::PostalCode, None, str_at(&["postal", "code"]));
    push_str(Field::Timezone, None, str_at(&["location", "time_zone"]));
    push_str(Field::Isp, None, str_at(&["isp"]));
    push_str(Field::Organization, None, str_at(&["organization"]));
    push_str(
        Field::AsnOrg,
        None,
        str_at(&["autonomous_system_organization"]),
    );
    for (li, lang) in LANGS.iter().enumerate() {
        let l = Some(li as u8);
        push_str(Field::Country, l, str_at(&["country", "names", lang]));
        push_str(Field::Continent, l, str_at(&["continent", "names", lang]));
        push_str(Field::City, l, str_at(&["city", "names", lang]));
        push_str(
            Field::Province,
            l,
            sub0.and_then(|s| s.get("names"))
                .and_then(|n| n.get(*lang))
                .and_then(|v| v.as_str())
                .map(str::to_string),
        );
    }
    if let Some(n) = num_at(&["autonomous_system_number"]).and_then(|v| v.as_u64()) {
        out.push((Field::Asn, None, Value::U32(n as u32)));
    }
    if let Some(n) = num_at(&["location", "accuracy_radius"]).and_then(|v| v.as_u64()) {
        out.push((Field::AccuracyRadius, None, Value::U32(n as u32)));
    }
    for (k, f) in [
        ("latitude", Field::Latitude),
        ("longitude", Field::Longitude),
    ] {
        if let Some(x) = num_at(&["location", k]).and_then(|v| v.as_f64()) {
            out.push((f, None, Value::F64(x)));
        }
    }
    out.sort_by_key(|a| (a.0, a.1));
    out
}

/// The table's values for an address.
fn answer(t: &Table<Vec<u8>>, ip: IpAddr) -> Vec<(Field, Option<u8>, Value)> {
    let Some(hit) = t.lookup(ip) else {
        return Vec::new();
    };
    let mut v: Vec<_> = hit
        .record
        .iter()
        .map(|(c, x)| (c.field.unwrap(), c.lang, x.to_value()))
        .collect();
    v.sort_by_key(|a| (a.0, a.1));
    v
}

/// First and last address of a JSON network key (IPv4 keys as IPv4;
/// `::a.b.c.d/n` keys as IPv6, answered through the `::/96` alias).
fn bounds(key: &str) -> (IpAddr, IpAddr) {
    let (addr, len) = key.split_once('/').unwrap();
    let len: u32 = len.parse().unwrap();
    match addr.parse::<IpAddr>().unwrap() {
        IpAddr::V4(a) => {
            let a = u32::from(a);
            let host = if len == 32 { 0 } else { u32::MAX >> len };
            (IpAddr::V4(a.into()), IpAddr::V4((a | host).into()))
        }
        IpAddr::V6(a) => {
            let a = u128::from(a);
            let host = if len == 128 { 0 } else { u128::MAX >> len };
            (IpAddr::V6(a.into()), IpAddr::V6(Ipv6Addr::from(a | host)))
        }
    }
}

/// JSON equality where numbers compare by value (the source JSON writes
/// `37` for the double `37.0`).
fn same_json(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn conform(db: &str) {
    let (Some(mmdb), Some(json)) = (
        common::data_file("conformance", &format!("maxmind/test-data/{db}.mmdb")),
        common::data_file("conformance", &format!("maxmind/source-data/{db}.json")),
    ) else {
        return;
    };
    let sources = common::import_all(std::slice::from_ref(&mmdb), &LANGS);
    let table = common::table_of(&sources, &LANGS);
    let reference = Reader::open_readfile(&mmdb).unwrap();
    let entries: Vec<serde_json::Map<String, J>> =
        serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let (mut checked, mut overlapped) = (0, 0);
    for entry in &entries {
        for (net, rec) in entry {
            let want = expected(rec);
            let (first, last) = bounds(net);
            for ip in [first, last] {
                // The reference reader's record at this address: if it is not
                // this JSON record, a more specific network overlaps here.
                let theirs: Option<J> = reference.lookup(ip).unwrap().decode().unwrap();
                let got = answer(&table, ip);
                if theirs.as_ref().is_some_and(|t| same_json(t, rec)) {
                    assert_eq!(got, want, "{db}: {net} at {ip}");
                    checked += 1;
                } else {
                    let want = theirs.as_ref().map(expected).unwrap_or_default();
                    assert_eq!(got, want, "{db}: {net} at {ip} (overlapped)");
                    overlapped += 1;
                }
            }
        }
    }
    eprintln!(
        "{db}: {} networks, {checked} probes as listed, {overlapped} overlapped",
        entries.len()
    );
    assert!(checked > entries.len(), "{db}: too few direct probes");
}

#[test]
fn geoip2_city() {
    conform("GeoIP2-City-Test");
}

#[test]
fn geolite2_city() {
    conform("GeoLite2-City-Test");
}

#[test]
fn geoip2_country() {
    conform("GeoIP2-Country-Test");
}

#[test]
fn geolite2_country() {
    conform("GeoLite2-Country-Test");
}

#[test]
fn geolite2_asn() {
    conform("GeoLite2-ASN-Test");
}

#[test]
fn geoip2_isp() {
    conform("GeoIP2-ISP-Test");
}
