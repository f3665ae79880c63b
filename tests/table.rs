//! The table reader against tables built from synthetic sources: answers
//! equal a naive reference, and damaged files are refused, never panicking.

use std::net::IpAddr;

use ipgeo::build::{build, BuildOptions};
use ipgeo::compare::SplitMix;
use ipgeo::field::{Field, Value};
use ipgeo::source::{Alias, Interval, Source, SourceRecord};
use ipgeo::table::{OpenOptions, Table, TableError};

fn rec(cc: &str, city: Option<&str>, asn: Option<u32>, lat: Option<f64>) -> SourceRecord {
    let mut r = SourceRecord::default();
    r.push(Field::CountryCode, None, Value::Str(cc.into()));
    if let Some(c) = city {
        r.push(Field::City, Some(0), Value::Str(c.into()));
        r.push(Field::City, Some(1), Value::Str(format!("{c}市").into()));
    }
    if let Some(a) = asn {
        r.push(Field::Asn, None, Value::U32(a));
    }
    if let Some(l) = lat {
        r.push(Field::Latitude, None, Value::F64(l));
    }
    r.normalize();
    r
}

/// A source with clustered and sparse IPv4 and IPv6 ranges, splits below
/// /64, ranges across slot boundaries, and an alias.
fn synthetic(seed: u64, n4: usize, n6: usize) -> Source {
    let mut rng = SplitMix(seed);
    let mut src = Source {
        name: "synthetic".into(),
        format: "test".into(),
        ..Source::default()
    };
    for i in 0..50u32 {
        let city = (i % 3 != 0).then(|| format!("C{i}"));
        src.records.push(rec(
            ["CN", "US", "DE", "JP"][i as usize % 4],
            city.as_deref(),
            (i % 2 == 0).then_some(64_500 + i),
            (i % 5 == 0).then_some(f64::from(i) * 0.5 - 10.0),
        ));
    }
    let mut starts: Vec<u128> = Vec::new();
    for _ in 0..n4 {
        // Cluster half of the ranges in 10.0.0.0/12.
        let s = if rng.below(2) == 0 {
            0x0A00_0000 + rng.below(1 << 20) as u128
        } else {
            u128::from(rng.next_u64() as u32)
        };
        starts.push(s);
    }
    starts.push(0xFFFF_FF00); // near the top of the space
    starts.sort();
    starts.dedup();
    for w in starts.windows(2) {
        if rng.below(5) != 0 {
            let rec = rng.below(50) as u32;
            src.v4.push(Interval {
                start: w[0],
                end: w[1] - 1,
                rec,
            });
        }
    }
    src.v4.push(Interval {
        start: 0xFFFF_FF00,
        end: 0xFFFF_FFFF,
        rec: 7,
    });
    let mut starts: Vec<u128> = Vec::new();
    for _ in 0..n6 {
        let base: u128 = match rng.below(4) {
            0 => 0x2001_0db8 << 96,
            1 => 0x2400_cb00 << 96,
            2 => u128::from(rng.next_u64()) << 64,
            _ => 0x2a00 << 112,
        };
        let hi = base | (u128::from(rng.next_u64() >> 40) << 64);
        // Mostly /48-ish boundaries, some below /64.
        let s = if rng.below(10) == 0 {
            hi | u128::from(rng.next_u64())
        } else {
            hi & !((1u128 << 80) - 1) | (u128::from(rng.below(1 << 16)) << 80)
        };
        starts.push(s);
    }
    starts.sort();
    starts.dedup();
    for w in starts.windows(2) {
        if rng.below(4) != 0 {
            src.v6.push(Interval {
                start: w[0],
                end: w[1] - 1,
                rec: rng.below(50) as u32,
            });
        }
    }
    src.aliases.push(Alias {
        prefix: 0x2002 << 112,
        len: 16,
    });
    src
}

/// The record a naive search of the source gives.
fn naive(src: &Source, ip: IpAddr) -> Option<&SourceRecord> {
    let find = |ivs: &[Interval], a: u128| {
        let i = ivs.partition_point(|iv| iv.start <= a).checked_sub(1)?;
        (ivs[i].end >= a).then(|| &src.records[ivs[i].rec as usize])
    };
    match ip {
        IpAddr::V4(a) => find(&src.v4, u128::from(u32::from(a))),
        IpAddr::V6(a) => {
            let a = u128::from(a);
            if a >> 32 == 0xffff || a >> 112 == 0x2002 {
                let v4 = if a >> 112 == 0x2002 {
                    (a >> 80) as u32
                } else {
                    a as u32
                };
                find(&src.v4, u128::from(v4))
            } else {
                find(&src.v6, a)
            }
        }
    }
}

fn same(table: &Table<Vec<u8>>, src: &Source, ip: IpAddr) {
    let want = naive(src, ip);
    let hit = table.lookup(ip);
    let fast = match ip {
        IpAddr::V4(a) => table.find_v4_ref(u32::from(a)),
        IpAddr::V6(a) => table.find_v6_ref(u128::from(a)),
    };
    match (want, hit) {
        (None, None) => {
            assert_eq!(fast, 0, "{ip}");
            assert_eq!(table.country_code(ip), None, "{ip}");
        }
        (Some(w), Some(h)) => {
            assert_eq!(fast, h.record.id(), "{ip}");
            // The country directory agrees with the record.
            let cc = h
                .record
                .get_str(Field::CountryCode)
                .map(|s| [s.as_bytes()[0], s.as_bytes()[1]]);
            assert_eq!(table.country_of(fast), cc, "{ip}");
            // And so do the compact country ranges.
            assert_eq!(table.country_code(ip), cc, "{ip}");
            for (f, l, v) in &w.values {
                let col = table
                    .columns()
                    .iter()
                    .position(|c| c.field == Some(*f) && c.lang == *l)
                    .unwrap();
                assert_eq!(
                    h.record.column(col).map(|x| x.to_value()).as_ref(),
                    Some(v),
                    "{ip} {f}"
                );
            }
            assert_eq!(
                h.record.iter().count(),
                w.values.len(),
                "{ip}: extra values"
            );
            // The network contains the address.
            let net = h.network;
            let (a, n) = match (ip, net.addr) {
                (IpAddr::V4(a), IpAddr::V4(n)) => (
                    u128::from(u32::from(a)) << 96,
                    u128::from(u32::from(n)) << 96,
                ),
                (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n)),
                _ => panic!("{ip}: family of {net}"),
            };
            let shift = 128 - u32::from(net.prefix);
            if shift < 128 {
                assert_eq!(a >> shift, n >> shift, "{ip} not in {net}");
            }
        }
        (w, h) => panic!("{ip}: source {w:?}, table {h:?}"),
    }
}

#[test]
fn lookups_match_a_naive_search() {
    for seed in 1..=3 {
        let src = synthetic(seed, 30_000, 30_000);
        let (bytes, _) = build(std::slice::from_ref(&src), &BuildOptions::default()).unwrap();
        let table = Table::open(bytes).unwrap();
        table.verify().unwrap();
        let mut rng = SplitMix(seed * 77);
        // Every range boundary, and random addresses.
        for iv in &src.v4 {
            for a in [iv.start, iv.end, iv.start.saturating_sub(1), iv.end + 1] {
                if a <= u128::from(u32::MAX) {
                    same(&table, &src, IpAddr::V4((a as u32).into()));
                }
            }
        }
        for iv in &src.v6 {
            for a in [
                iv.start,
                iv.end,
                iv.start.wrapping_sub(1),
                iv.end.wrapping_add(1),
            ] {
                same(&table, &src, IpAddr::V6(a.into()));
            }
        }
        for _ in 0..100_000 {
            same(&table, &src, IpAddr::V4((rng.next_u64() as u32).into()));
            let a = ipgeo::compare::sample_v6(&mut rng, &src.v6).unwrap();
            same(&table, &src, IpAddr::V6(a.into()));
            // Mapped and 6to4 addresses follow the IPv4 data.
            let v4 = rng.next_u64() as u32;
            same(
                &table,
                &src,
                IpAddr::V6((0xffff_0000_0000u128 | u128::from(v4)).into()),
            );
            same(
                &table,
                &src,
                IpAddr::V6(((0x2002u128 << 112) | (u128::from(v4) << 80)).into()),
            );
        }
        // The batch paths agree with the single ones.
        let v4: Vec<u32> = (0..10_000).map(|_| rng.next_u64() as u32).collect();
        let mut out = vec![0; v4.len()];
        table.find_v4_refs(&v4, &mut out);
        for (a, r) in v4.iter().zip(&out) {
            assert_eq!(*r, table.find_v4_ref(*a));
        }
        // IPv6: in the data, uniform (mostly uncovered), mapped and 6to4
        // addresses mixed, so aliases answered at once sit between lookups
        // in flight.
        let v6: Vec<u128> = (0..10_000)
            .map(|i| {
                let v4 = u128::from(rng.next_u64() as u32);
                match i % 4 {
                    0 | 1 => ipgeo::compare::sample_v6(&mut rng, &src.v6).unwrap(),
                    2 => (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()),
                    _ if i % 8 == 3 => 0xffff_0000_0000 | v4,
                    _ => (0x2002 << 112) | (v4 << 80),
                }
            })
            .collect();
        table.find_v6_refs(&v6, &mut out);
        for (a, r) in v6.iter().zip(&out) {
            assert_eq!(*r, table.find_v6_ref(*a));
        }
    }
}

#[test]
fn networks_are_the_largest_within_the_range() {
    let mut src = Source::default();
    src.records.push(rec("AU", None, None, None));
    src.records.push(rec("CN", None, None, None));
    // 1.0.0.0 - 1.0.2.255 (not a CIDR), and 2.0.0.0/8 across 256 slots.
    src.v4.push(Interval {
        start: 0x0100_0000,
        end: 0x0100_02FF,
        rec: 0,
    });
    src.v4.push(Interval {
        start: 0x0200_0000,
        end: 0x02FF_FFFF,
        rec: 1,
    });
    src.v6.push(Interval {
        start: 0x2400 << 112,
        end: (0x2401 << 112) - 1,
        rec: 1,
    });
    let (bytes, _) = build(&[src], &BuildOptions::default()).unwrap();
    let t = Table::open(bytes).unwrap();
    let net = |s: &str| t.lookup(s.parse().unwrap()).map(|h| h.network.to_string());
    assert_eq!(net("1.0.0.1").as_deref(), Some("1.0.0.0/23"));
    assert_eq!(net("1.0.2.9").as_deref(), Some("1.0.2.0/24"));
    assert_eq!(net("2.200.3.4").as_deref(), Some("2.0.0.0/8"));
    assert_eq!(net("2400:1::5").as_deref(), Some("2400::/16"));
    assert_eq!(net("::ffff:2.1.1.1").as_deref(), Some("::ffff:2.0.0.0/104"));
    assert_eq!(net("3.0.0.0"), None);
}

fn bytes() -> Vec<u8> {
    build(&[synthetic(9, 2000, 2000)], &BuildOptions::default())
        .unwrap()
        .0
}

fn err(b: Vec<u8>) -> String {
    match Table::open(b) {
        Err(TableError::Corrupt(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn damaged_headers_are_refused_with_precise_errors() {
    let good = bytes();
    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(err(b), "not an ipgeo table (bad magic at offset 0)");
    let mut b = good.clone();
    b[8] = 2;
    assert_eq!(
        err(b),
        "format version 2 is not supported (this reader reads version 1)"
    );
    let mut b = good.clone();
    b[12..16].copy_from_slice(&0x0A0B_0C0Du32.to_be_bytes());
    assert_eq!(
        err(b),
        "table was written big-endian; tables are little-endian"
    );
    let b = good[..good.len() - 1].to_vec();
    assert_eq!(
        err(b),
        format!(
            "header says the file is {} bytes but it is {} (truncated or extended)",
            good.len(),
            good.len() - 1
        )
    );
    assert_eq!(
        err(good[..10].to_vec()),
        "file is 10 bytes, shorter than the 128-byte header"
    );
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last / 2] ^= 0x10;
    assert!(err(b).starts_with("checksum mismatch: header has 0x"));
    assert_eq!(
        TableError::Corrupt("x".into()).to_string(),
        "invalid table: x",
        "Display prefix"
    );
}

#[test]
fn every_truncation_is_refused() {
    let good = bytes();
    let step = (good.len() / 3000).max(1);
    for len in (0..good.len()).step_by(step) {
        assert!(
            Table::open(good[..len].to_vec()).is_err(),
            "truncated to {len}"
        );
    }
}

#[test]
fn bit_flips_never_panic_and_checksums_catch_them() {
    let good = bytes();
    let mut rng = SplitMix(4);
    let probes: Vec<IpAddr> = (0..64)
        .map(|i| {
            if i % 2 == 0 {
                IpAddr::V4((rng.next_u64() as u32).into())
            } else {
                IpAddr::V6((u128::from(rng.next_u64()) << 64 | 0x2001_0db8 << 96).into())
            }
        })
        .collect();
    let mut opened = 0;
    for round in 0..3000 {
        let mut b = good.clone();
        // Flip bits in the structural part more often than in the pool.
        let at = if round % 2 == 0 {
            rng.below(4096.min(b.len() as u64)) as usize
        } else {
            rng.below(b.len() as u64) as usize
        };
        b[at] ^= 1 << rng.below(8);
        assert!(
            Table::open(b.clone()).is_err(),
            "flip at {at} passed the checksum"
        );
        // Without the checksum, structural checks still make lookups safe.
        if let Ok(t) = Table::open_with(b, OpenOptions { checksum: false }) {
            opened += 1;
            for ip in &probes {
                if let Some(hit) = t.lookup(*ip) {
                    let _ = hit.record.to_json_with(&t.meta().languages, true);
                }
                let _ = t.country_code(*ip);
            }
            let _ = t.verify();
        }
    }
    assert!(
        opened > 100,
        "only {opened} damaged tables opened without the checksum"
    );
}

/// The offset and length of section `kind` in table bytes.
fn section(b: &[u8], kind: u32) -> (usize, usize) {
    let u64at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(b[36..40].try_into().unwrap()) as usize;
    let dir = u64at(40);
    (0..count)
        .map(|i| dir + i * 32)
        .find(|&e| u32::from_le_bytes(b[e..e + 4].try_into().unwrap()) == kind)
        .map(|e| (u64at(e + 8), u64at(e + 16)))
        .expect("section present")
}

fn reseal(b: &mut [u8]) {
    b[24..32].fill(0);
    let sum = ipgeo::build::writer::checksum(b);
    b[24..32].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn country_ranges_are_checked_at_open_and_by_verify() {
    const V4_COUNTRIES: u32 = 18;
    let good = bytes();
    let (off, len) = section(&good, V4_COUNTRIES);
    assert!(len >= 8, "the builder writes IPv4 country ranges");
    // A wrong code: the structure is fine, so open accepts it, but verify
    // finds the address where it disagrees with the record.
    let t = Table::open(good.clone()).unwrap();
    let i = (0..len / 4)
        .find(|i| good[off + i * 4] != 0)
        .expect("an entry with a country");
    let mut b = good.clone();
    b[off + i * 4..off + i * 4 + 2].copy_from_slice(b"ZZ");
    reseal(&mut b);
    let t2 = Table::open(b).unwrap();
    let e = t2.verify().unwrap_err().to_string();
    assert!(
        e.starts_with("invalid table: section v4_countries: ")
            && e.contains("answers Some(\"ZZ\")"),
        "{e}"
    );
    assert!(t.verify().is_ok());
    // A slot whose entries do not rise is refused at open.
    let (slots, _) = section(&good, V4_COUNTRIES - 1);
    let dir = |s: usize| {
        u32::from_le_bytes(good[slots + s * 4..slots + s * 4 + 4].try_into().unwrap()) as usize
    };
    let slot = (0..65_536)
        .find(|&s| dir(s + 1) - dir(s) >= 2)
        .expect("a slot with two entries");
    let mut b = good.clone();
    let second = off + (dir(slot) + 1) * 4;
    b[second + 2..second + 4].fill(0); // its start becomes 0, equal to the first
    reseal(&mut b);
    assert_eq!(
        err(b),
        format!(
            "section v4_countries: entry {} at offset {} is out of order in slot {slot}",
            dir(slot) + 1,
            second
        )
    );
}

/// The largest CIDR block (of `bits`-bit addresses) that contains `a` and
/// lies within `lo..=hi`: the reference the table's networks must equal.
fn naive_prefix(a: u128, lo: u128, hi: u128, bits: u32) -> u8 {
    (0..=bits)
        .find(|&p| {
            let host = if p == bits {
                0
            } else {
                u128::MAX >> (128 - bits + p)
            };
            (a & !host) >= lo && (a | host) <= hi
        })
        .unwrap() as u8
}

/// For address `a` in `ivs` (sorted, disjoint), the run of touching
/// intervals with records equal to `a`'s (the table stores equal records
/// once and coalesces such a run into one range).
fn naive_run(src: &Source, ivs: &[Interval], a: u128) -> Option<(u128, u128)> {
    let i = ivs.partition_point(|iv| iv.start <= a).checked_sub(1)?;
    if ivs[i].end < a {
        return None;
    }
    let same = |j: usize| src.records[ivs[j].rec as usize] == src.records[ivs[i].rec as usize];
    let (mut lo, mut hi) = (i, i);
    while lo > 0 && same(lo - 1) && ivs[lo - 1].end + 1 == ivs[lo].start {
        lo -= 1;
    }
    while hi + 1 < ivs.len() && same(hi + 1) && ivs[hi].end + 1 == ivs[hi + 1].start {
        hi += 1;
    }
    Some((ivs[lo].start, ivs[hi].end))
}

#[test]
fn networks_equal_the_largest_block_of_the_coalesced_range() {
    // Synthetic sources, plus ranges over many slots that start and end
    // inside slots (the network grows over whole slots only in the middle).
    let mut crafted = synthetic(11, 3_000, 3_000);
    crafted
        .v4
        .retain(|iv| iv.end < 0x0A00_0000 || iv.start > 0x0CFF_FFFF);
    crafted.v4.push(Interval {
        start: 0x0A00_8000,
        end: 0x0A05_7FFF,
        rec: 1,
    });
    crafted.v4.push(Interval {
        start: 0x0A05_8000,
        end: 0x0BFF_FFFF,
        rec: 2,
    });
    crafted.v4.push(Interval {
        start: 0x0C00_0000,
        end: 0x0CFF_FFFF,
        rec: 2,
    });
    crafted.v4.sort_by_key(|iv| iv.start);
    crafted
        .v6
        .retain(|iv| iv.end < (0x3000 << 112) || iv.start > (0x3100 << 112));
    crafted.v6.push(Interval {
        start: 0x3000_8000 << 96,
        end: (0x3003_8000 << 96) - 1,
        rec: 3,
    });
    crafted.v6.sort_by_key(|iv| iv.start);
    for src in [synthetic(5, 20_000, 20_000), crafted] {
        let (bytes, _) = build(std::slice::from_ref(&src), &BuildOptions::default()).unwrap();
        let t = Table::open(bytes).unwrap();
        let mut rng = SplitMix(17);
        let mut probes: Vec<IpAddr> = Vec::new();
        for iv in src.v4.iter().step_by(7) {
            for a in [iv.start, iv.end, iv.start + (iv.end - iv.start) / 2] {
                probes.push(IpAddr::V4((a as u32).into()));
            }
        }
        for iv in src.v6.iter().step_by(7) {
            for a in [iv.start, iv.end, iv.start + (iv.end - iv.start) / 3] {
                probes.push(IpAddr::V6(a.into()));
            }
        }
        for _ in 0..20_000 {
            probes.push(IpAddr::V4((rng.next_u64() as u32).into()));
        }
        for a in [
            "10.0.200.1",
            "10.1.0.1",
            "10.2.5.5",
            "10.4.0.0",
            "10.5.0.1",
            "11.200.0.1",
            "12.7.7.7",
        ] {
            probes.push(a.parse().unwrap());
        }
        for a in [
            "3000:8000::1",
            "3001:1234::1",
            "3002:ffff::1",
            "3003:7fff::1",
        ] {
            probes.push(a.parse().unwrap());
        }
        let mut checked = 0;
        for ip in probes {
            let (a, ivs, bits) = match ip {
                IpAddr::V4(v) => (u128::from(u32::from(v)), &src.v4, 32),
                IpAddr::V6(v) => (u128::from(v), &src.v6, 128),
            };
            let want = naive_run(&src, ivs, a).map(|(lo, hi)| naive_prefix(a, lo, hi, bits));
            let got = t.lookup(ip).map(|h| h.network.prefix);
            assert_eq!(got, want, "{ip}");
            assert_eq!(t.locate(ip).map(|(_, n)| n.prefix), want, "{ip} (locate)");
            checked += usize::from(want.is_some());
        }
        assert!(checked > 10_000, "only {checked} addresses with data");
    }
    // The crafted multi-slot ranges, by hand.
    let src = {
        let mut s = Source::default();
        s.records.push(rec("AU", None, None, None));
        s.v4.push(Interval {
            start: 0x0A00_8000,
            end: 0x0A05_7FFF,
            rec: 0,
        });
        s
    };
    let (bytes, _) = build(&[src], &BuildOptions::default()).unwrap();
    let t = Table::open(bytes).unwrap();
    let net = |s: &str| t.lookup(s.parse().unwrap()).map(|h| h.network.to_string());
    assert_eq!(net("10.0.200.1").as_deref(), Some("10.0.128.0/17"));
    assert_eq!(net("10.1.0.1").as_deref(), Some("10.1.0.0/16"));
    assert_eq!(net("10.2.5.5").as_deref(), Some("10.2.0.0/15"));
    assert_eq!(net("10.4.0.0").as_deref(), Some("10.4.0.0/16"));
    assert_eq!(net("10.5.0.1").as_deref(), Some("10.5.0.0/17"));
}
