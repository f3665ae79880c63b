//! `ipgeo::import::xdb`: agreement with the official ip2region binding
//! (py-ip2region 3.0.6, through `util/reference/xdb_lookup.py`) on the real
//! file and on synthetic structure 2 and 3 files, IPv4 and IPv6; corrupt
//! files (truncations, bit flips) are refused or imported consistently, in
//! bounded time, never with a panic; exact error messages.
//!
//! The expected record is derived from the reference's region string here,
//! independently of the importer: the placeholder values are listed again
//! in `tests/common`, the "not a country" values below.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipgeo::compare::SplitMix;
use ipgeo::field::{Field, Value};
use ipgeo::import::xdb::{import_xdb, REGION_START};
use ipgeo::import::{self, Format, InputSpec};
use ipgeo::source::Source;

use common::{addr_text, got, placeholder};

const SAMPLES: usize = 100_000;

// ---------------------------------------------------------------------------
// The expected mapping, written independently of the importer.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    Classic,
    Four,
    Iso,
}

/// `(field, language index, value)` sorted: what a region means.
fn expected(region: &str, layout: Layout) -> Vec<(Field, Option<u8>, String)> {
    let v: Vec<&str> = region.split('|').collect();
    if region.is_empty() || ["IANA", "保留地址", "未分配地址", "纯真网络"].contains(&v[0])
    {
        return Vec::new();
    }
    let idx: [usize; 4] = match layout {
        Layout::Classic => [0, 2, 3, 4],
        Layout::Four | Layout::Iso => [0, 1, 2, 3],
    };
    let names = [Field::Country, Field::Province, Field::City];
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let kept: Vec<(Field, &str)> = names
        .iter()
        .zip(idx)
        .map(|(f, i)| (*f, v[i]))
        .filter(|(_, s)| !placeholder(s))
        .collect();
    // zh-CN is index 1; English (iso layout, no CJK name) index 0.
    let lang = if layout == Layout::Iso && !kept.is_empty() && !kept.iter().any(|(_, s)| cjk(s)) {
        0
    } else {
        1
    };
    let mut out: Vec<(Field, Option<u8>, String)> = kept
        .into_iter()
        .map(|(f, s)| (f, Some(lang), s.to_string()))
        .collect();
    if !placeholder(v[idx[3]]) {
        out.push((Field::Isp, None, v[idx[3]].to_string()));
    }
    if layout == Layout::Iso && v[4].len() == 2 && v[4].bytes().all(|b| b.is_ascii_uppercase()) {
        out.push((Field::CountryCode, None, v[4].to_string()));
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// The reference: the official binding, and a port of its search.

/// Runs the Python driver on `addrs`; `None` (with a SKIP line) if Python or
/// the binding is missing.
fn reference(test: &str, file: &std::path::Path, addrs: &[String]) -> Option<Vec<String>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let binding = std::env::var_os("IPGEO_XDB_BINDING")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("data/ip2region/py"));
    if !binding.join("ip2region/searcher.py").exists() {
        eprintln!(
            "SKIP {test}: the ip2region binding is not in {} (run util/fetch-data.sh)",
            binding.display()
        );
        return None;
    }
    let child = Command::new("python3")
        .arg(root.join("util/reference/xdb_lookup.py"))
        .arg(file)
        .env("IPGEO_XDB_BINDING", &binding)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIP {test}: python3 is not available");
        return None;
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = addrs.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "xdb_lookup.py failed");
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(e) = v.get("error") {
                panic!("reference error for {}: {e}", v["ip"]);
            }
            v["region"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(lines.len(), addrs.len());
    Some(lines)
}

/// A port of `Searcher.search` (content-buffer mode), Python's slicing and
/// comparison semantics included: `Err` where Python would raise (an index
/// beyond a short read, bad UTF-8).
fn ref_search(b: &[u8], a: u128, v6: bool) -> Result<String, String> {
    // Python's `buff[o:o + n]`: shortened at the end.
    let slice = |o: usize, n: usize| &b[o.min(b.len())..(o + n).min(b.len())];
    let le = |s: &[u8], o: usize, n: usize| -> Result<usize, String> {
        let x = s.get(o..o + n).ok_or("IndexError")?;
        Ok(x.iter()
            .rev()
            .fold(0usize, |acc, &v| acc << 8 | usize::from(v)))
    };
    let ip: Vec<u8> = if v6 {
        a.to_be_bytes().to_vec()
    } else {
        (a as u32).to_be_bytes().to_vec()
    };
    let idx = 256 + usize::from(ip[0]) * 256 * 8 + usize::from(ip[1]) * 8;
    let (sp, ep) = (le(b, idx, 4)?, le(b, idx + 4, 4)?);
    if sp == 0 || ep == 0 {
        return Ok(String::new());
    }
    let size = if v6 { 38 } else { 14 };
    let n = ip.len();
    // ip compared with the address at `o` of `buff`.
    let cmp = |buff: &[u8], o: usize| -> Result<std::cmp::Ordering, String> {
        if v6 {
            Ok(ip
                .as_slice()
                .cmp(&buff[o.min(buff.len())..(o + 16).min(buff.len())]))
        } else {
            let mut j = o + 3;
            for &x in &ip {
                let y = *buff.get(j).ok_or("IndexError")?;
                if x != y {
                    return Ok(x.cmp(&y));
                }
                j = j.wrapping_sub(1);
            }
            Ok(std::cmp::Ordering::Equal)
        }
    };
    let (mut low, mut high) = (0i64, (ep as i64 - sp as i64).div_euclid(size as i64));
    let (mut dlen, mut dptr) = (0usize, 0usize);
    while low <= high {
        let mid = (low + high) >> 1;
        let buff = slice((sp as i64 + mid * size as i64) as usize, size);
        if cmp(buff, 0)?.is_lt() {
            high = mid - 1;
        } else if cmp(buff, n)?.is_gt() {
            low = mid + 1;
        } else {
            dlen = le(buff, 2 * n, 2)?;
            dptr = le(buff, 2 * n + 2, 4)?;
            break;
        }
    }
    if dlen == 0 {
        return Ok(String::new());
    }
    String::from_utf8(slice(dptr, dlen).to_vec()).map_err(|_| "UnicodeDecodeError".to_string())
}

// ---------------------------------------------------------------------------
// A synthetic xdb writer, laid out like ip2region's maker.

fn make_xdb(version: u16, v6: bool, segs: &[(u128, u128, &str)]) -> Vec<u8> {
    let size = if v6 { 38 } else { 14 };
    let mut b = vec![0u8; REGION_START];
    let mut at = std::collections::HashMap::new();
    for (_, _, r) in segs {
        if !r.is_empty() && !at.contains_key(r) {
            at.insert(*r, b.len() as u32);
            b.extend(r.as_bytes());
        }
    }
    let first = b.len();
    for (s, e, r) in segs {
        if v6 {
            b.extend(s.to_be_bytes());
            b.extend(e.to_be_bytes());
        } else {
            b.extend((*s as u32).to_le_bytes());
            b.extend((*e as u32).to_le_bytes());
        }
        b.extend((r.len() as u16).to_le_bytes());
        b.extend(at.get(r).copied().unwrap_or(0).to_le_bytes());
    }
    let last = b.len() - size;
    b[0..2].copy_from_slice(&version.to_le_bytes());
    b[2..4].copy_from_slice(&1u16.to_le_bytes());
    b[4..8].copy_from_slice(&1_700_000_000u32.to_le_bytes());
    b[8..12].copy_from_slice(&(first as u32).to_le_bytes());
    b[12..16].copy_from_slice(&(last as u32).to_le_bytes());
    if version == 3 {
        b[16..18].copy_from_slice(&(if v6 { 6u16 } else { 4 }).to_le_bytes());
        b[18..20].copy_from_slice(&4u16.to_le_bytes());
    }
    let shift = if v6 { 112 } else { 16 };
    let mut lo = vec![usize::MAX; 65536];
    let mut hi = vec![0; 65536];
    for (i, (s, e, _)) in segs.iter().enumerate() {
        for blk in (s >> shift) as usize..=(e >> shift) as usize {
            lo[blk] = lo[blk].min(i);
            hi[blk] = i;
        }
    }
    for blk in 0..65536 {
        if lo[blk] != usize::MAX {
            let o = 256 + blk * 8;
            let sp = (first + lo[blk] * size) as u32;
            let ep = (first + hi[blk] * size + size) as u32;
            b[o..o + 4].copy_from_slice(&sp.to_le_bytes());
            b[o + 4..o + 8].copy_from_slice(&ep.to_le_bytes());
        }
    }
    b
}

/// A small IPv4 file covering the whole space, classic layout.
fn small_v4(version: u16) -> Vec<u8> {
    make_xdb(
        version,
        false,
        &[
            (0, 0x00FF_FFFF, "0|0|0|内网IP|内网IP"),
            (0x0100_0000, 0x0100_00FF, "澳大利亚|0|0|0|0"),
            (0x0100_0100, 0x0100_03FF, "中国|0|福建省|福州市|电信"),
            (0x0100_0400, 0x0100_07FF, "中国|0|福建省|福州市|电信"),
            (0x0100_0800, 0x0A00_0000, "中国|0|香港|0|0"),
            (0x0A00_0001, 0x0A00_0001, ""),
            (0x0A00_0002, 0xFFFF_FFFF, "美国|0|加利福尼亚|0|谷歌"),
        ],
    )
}

/// A small IPv6 file with gaps, iso layout.
fn small_v6() -> Vec<u8> {
    let p = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    make_xdb(
        3,
        true,
        &[
            (p("::"), p("::ffff:ffff"), "0|0|Reserved|Reserved|Reserved"),
            (
                p("2001:db8::"),
                p("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
                "Australia|Queensland|0|0|AU",
            ),
            (
                p("240e::"),
                p("240e:0:ffff::"),
                "中国|广东省|深圳市|电信|CN",
            ),
            (
                p("240e:0:ffff::1"),
                p("240e:1:ffff:ffff:ffff:ffff:ffff:ffff"),
                "中国|香港特别行政区|0|0|CN",
            ),
            (
                p("2a09::"),
                p("2a0a:ffff::"),
                "Nigeria|Sokoto|Sokoto|Layer3 Limited|NG",
            ),
        ],
    )
}

fn addresses(rng: &mut SplitMix, src: &Source, v6: bool, n: usize) -> Vec<u128> {
    let mut out = Vec::with_capacity(n);
    let ivs = if v6 { &src.v6 } else { &src.v4 };
    for i in 0..n {
        if !v6 && i % 2 == 0 {
            out.push(u128::from(rng.next_u64() as u32));
            continue;
        }
        if ivs.is_empty() {
            out.push(u128::from(rng.next_u64()));
            continue;
        }
        let iv = ivs[rng.below(ivs.len() as u64) as usize];
        out.push(match rng.below(4) {
            0 => iv.start,
            1 => iv.end,
            2 => iv.end.wrapping_add(1),
            _ => {
                let span = iv.end - iv.start;
                let r = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                if span == u128::MAX {
                    r
                } else {
                    iv.start + r % (span + 1)
                }
            }
        });
    }
    if !v6 {
        out.iter_mut().for_each(|a| *a &= 0xFFFF_FFFF);
    }
    out
}

// ---------------------------------------------------------------------------

#[test]
fn the_real_file_agrees_with_the_official_binding() {
    const TEST: &str = "the_real_file_agrees_with_the_official_binding";
    let Some(path) = common::data_file(TEST, "ip2region/ip2region.xdb") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let t = Instant::now();
    let src = import_xdb(&bytes, &common::cn_opts("ip2region")).unwrap();
    eprintln!(
        "{TEST}: imported {} IPv4 intervals, {} records in {:?}: {}",
        src.v4.len(),
        src.records.len(),
        t.elapsed(),
        src.description
    );
    assert!(src.v6.is_empty());
    assert!(src.v4.windows(2).all(|w| w[0].end < w[1].start));
    // Uniform addresses, plus both ends of random intervals (and the
    // address after), 100,000 in all.
    let mut rng = SplitMix(20_240_228);
    let mut addrs: Vec<u128> = (0..SAMPLES * 3 / 4)
        .map(|_| u128::from(rng.next_u64() as u32))
        .collect();
    addrs.extend(addresses(&mut rng, &src, false, SAMPLES / 4));
    let text: Vec<String> = addrs.iter().map(|a| addr_text(*a, false)).collect();
    let Some(want) = reference(TEST, &path, &text) else {
        return;
    };
    let mut with_data = 0;
    for ((a, t), region) in addrs.iter().zip(&text).zip(&want) {
        let e = expected(region, Layout::Classic);
        with_data += usize::from(!e.is_empty());
        assert_eq!(got(&src, false, *a), e, "{t}: reference {region:?}");
        // Both readers see the same bytes: the port agrees too.
        assert_eq!(
            ref_search(&bytes, *a, false).as_deref(),
            Ok(region.as_str())
        );
    }
    eprintln!(
        "{TEST}: {} addresses agree ({with_data} with data)",
        addrs.len()
    );
}

#[test]
fn synthetic_files_agree_with_the_official_binding() {
    const TEST: &str = "synthetic_files_agree_with_the_official_binding";
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, v6, layout) in [
        ("v2.xdb", small_v4(2), false, Layout::Classic),
        ("v3-4.xdb", small_v4(3), false, Layout::Classic),
        ("v3-6.xdb", small_v6(), true, Layout::Iso),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let src = import_xdb(&bytes, &common::cn_opts("ip2region"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rng = SplitMix(7);
        let addrs = addresses(&mut rng, &src, v6, 2000);
        let text: Vec<String> = addrs.iter().map(|a| addr_text(*a, v6)).collect();
        let Some(want) = reference(TEST, &path, &text) else {
            return;
        };
        for ((a, t), region) in addrs.iter().zip(&text).zip(&want) {
            assert_eq!(got(&src, v6, *a), expected(region, layout), "{name} {t}");
            assert_eq!(ref_search(&bytes, *a, v6).as_deref(), Ok(region.as_str()));
        }
    }
}

#[test]
fn synthetic_files_import() {
    let src = import_xdb(&small_v4(2), &common::cn_opts("ip2region")).unwrap();
    // Neighbours with the same region merge; the empty region is listed
    // with an empty record.
    assert_eq!(src.v4.len(), 6);
    assert_eq!((src.v4[2].start, src.v4[2].end), (0x0100_0100, 0x0100_07FF));
    assert!(src.records[src.v4[0].rec as usize].is_empty());
    assert!(src.records[src.v4[4].rec as usize].is_empty());
    assert_eq!(
        src.description,
        "ip2region xdb structure 2, IPv4, created 2023-11-14, 7 segments, regions 国家|区域|省份|城市|ISP"
    );
    let src = import_xdb(&small_v6(), &common::cn_opts("ip2region")).unwrap();
    assert!(src.v4.is_empty());
    assert_eq!(src.v6.len(), 5);
    let au = &src.records[src.v6[1].rec as usize];
    assert_eq!(
        au.get(Field::Country, Some(0)),
        Some(&Value::Str("Australia".into()))
    );
    assert_eq!(
        au.get(Field::CountryCode, None),
        Some(&Value::Str("AU".into()))
    );
    let four = make_xdb(3, false, &[(0, 0xFFFF_FFFF, "中国|广东省|深圳市|移动")]);
    let src = import_xdb(&four, &common::cn_opts("ip2region")).unwrap();
    assert_eq!(
        src.records[src.v4[0].rec as usize].get(Field::City, Some(1)),
        Some(&Value::Str("深圳市".into()))
    );
}

#[test]
fn detection_and_language_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("some.bin");
    std::fs::write(&path, small_v4(2)).unwrap();
    assert_eq!(Format::detect(&path, &small_v4(2)), Some(Format::Xdb));
    assert_eq!(Format::detect(&path, &small_v6()), Some(Format::Xdb));
    assert_eq!(
        Format::detect(std::path::Path::new("a.xdb"), b"junk"),
        Some(Format::Xdb)
    );
    assert_eq!(Format::detect(&path, b"junk"), None);
    let langs = vec!["en".to_string(), "zh-CN".to_string()];
    let spec = InputSpec::parse(path.to_str().unwrap()).unwrap();
    let src = import::import(&spec, &langs).unwrap();
    let cn = src.records[src.v4[2].rec as usize].clone();
    assert_eq!(
        cn.get(Field::Country, Some(1)),
        Some(&Value::Str("中国".into()))
    );
    let spec = InputSpec::parse(&format!("{}?lang=en", path.display())).unwrap();
    let src = import::import(&spec, &langs).unwrap();
    let cn = src.records[src.v4[2].rec as usize].clone();
    assert_eq!(
        cn.get(Field::Country, Some(0)),
        Some(&Value::Str("中国".into()))
    );
    let spec = InputSpec::parse(&format!("{}?country_code=CN", path.display())).unwrap();
    assert!(import::import(&spec, &langs)
        .unwrap_err()
        .to_string()
        .ends_with("an xdb input takes no field or column options"));
}

#[test]
fn corrupt_files_give_exact_errors() {
    let e = |b: &[u8]| {
        import_xdb(b, &common::cn_opts("ip2region"))
            .unwrap_err()
            .to_string()
    };
    let good = small_v4(2);
    let first = u32::from_le_bytes(good[8..12].try_into().unwrap()) as usize;
    // Segment 3 starts inside segment 2.
    let mut b = good.clone();
    b[first + 3 * 14..first + 3 * 14 + 4].copy_from_slice(&0x0100_03FFu32.to_le_bytes());
    assert_eq!(
        e(&b),
        format!(
            "xdb byte {}: segment 3: start 1.0.3.255 is not after the previous segment's end 1.0.3.255",
            first + 42
        )
    );
    // Start after end.
    let mut b = good.clone();
    b[first + 14 + 4..first + 14 + 8].copy_from_slice(&0x00FF_0000u32.to_le_bytes());
    assert_eq!(
        e(&b),
        format!(
            "xdb byte {}: segment 1: start 1.0.0.0 is after end 0.255.0.0",
            first + 14
        )
    );
    // A region pointer into the segment index.
    let mut b = good.clone();
    b[first + 14 + 10..first + 14 + 14].copy_from_slice(&(first as u32).to_le_bytes());
    assert_eq!(
        e(&b),
        format!(
            "xdb byte {}: segment 1: region bytes {first}..{} are outside the region area \
             (bytes 524544..{first})",
            first + 14,
            first + 20
        )
    );
    // Bad UTF-8.
    let mut b = good.clone();
    b[REGION_START] = 0xFF;
    assert_eq!(
        e(&b),
        "xdb byte 524544: region of segment 0 (bytes 524544..524567) is not UTF-8"
    );
    // A vector index entry that misses its block's segment.
    let mut b = good.clone();
    let o = 256 + 0x0100 * 8;
    b[o..o + 4].copy_from_slice(&((first + 28) as u32).to_le_bytes());
    assert_eq!(
        e(&b),
        format!(
            "xdb byte {o}: vector index entry of 1.0.0.0/16: segment index bytes {}..={} miss \
             the segments at bytes {}..={} that hold its addresses",
            first + 28,
            first + 5 * 14,
            first + 14,
            first + 4 * 14
        )
    );
    let mut b = good.clone();
    b[o..o + 8].fill(0);
    assert_eq!(
        e(&b),
        format!("xdb byte {o}: vector index entry of 1.0.0.0/16 is empty, but segment 1 holds addresses of it")
    );
    // Header pointers.
    let mut b = good.clone();
    b[12..16].copy_from_slice(&((first + 15) as u32).to_le_bytes());
    assert_eq!(
        e(&b),
        format!(
            "xdb byte 12: header: the last segment index entry (byte {}) is not a whole number \
             of 14-byte entries after the first (byte {first})",
            first + 15
        )
    );
    let mut b = good.clone();
    b.truncate(b.len() - 1);
    assert_eq!(
        e(&b),
        format!(
            "xdb byte 12: header: the last segment index entry (bytes {}..{}) ends beyond the \
             file ({} bytes)",
            good.len() - 14,
            good.len(),
            good.len() - 1
        )
    );
    // Bytes after the segment index: the searcher would read them as the
    // segment after the last (found by fuzzing).
    let mut b = good.clone();
    b.extend([0; 14]);
    assert_eq!(
        e(&b),
        format!(
            "xdb byte {}: 14 bytes follow the segment index, which must end the file",
            good.len()
        )
    );
    let mut b = small_v6();
    b[16] = 5;
    assert_eq!(
        e(&b),
        "xdb byte 16: header: IP version 5 is neither 4 nor 6"
    );
}

/// Imports a mutant: it must not panic, must finish quickly, and, if
/// accepted, must answer like the searcher on the same bytes.
fn check_mutant(b: &[u8], rng: &mut SplitMix, limit: Duration) -> bool {
    let t = Instant::now();
    let r = std::panic::catch_unwind(|| import_xdb(b, &common::cn_opts("ip2region")));
    let r = r.unwrap_or_else(|_| panic!("import panicked"));
    assert!(t.elapsed() < limit, "import took {:?}", t.elapsed());
    let Ok(src) = r else {
        return false;
    };
    let v6 = !src.v6.is_empty() || (b[0] == 3 && b[16] == 6);
    let ivs = if v6 { &src.v6 } else { &src.v4 };
    assert!(ivs.windows(2).all(|w| w[0].end < w[1].start));
    let layout = if src.description.ends_with("国家|区域|省份|城市|ISP") {
        Layout::Classic
    } else if src.description.ends_with("国家|省份|城市|ISP") {
        Layout::Four
    } else {
        Layout::Iso
    };
    for a in addresses(rng, &src, v6, 64) {
        let Ok(region) = ref_search(b, a, v6) else {
            continue;
        };
        assert_eq!(
            got(&src, v6, a),
            expected(&region, layout),
            "{}: the searcher finds {region:?}",
            addr_text(a, v6)
        );
    }
    true
}

#[test]
fn truncations_and_bit_flips_are_refused_or_consistent() {
    let mut rng = SplitMix(99);
    let (mut ok, mut refused) = (0, 0);
    for good in [small_v4(2), small_v4(3), small_v6()] {
        // Every truncation around the structures.
        let n = good.len();
        for cut in (0..600).chain(REGION_START - 20..n) {
            if check_mutant(&good[..cut.min(n)], &mut rng, Duration::from_secs(2)) {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        // Bit flips in the header, the vector index entries in use, the
        // regions and the segment index.
        let first = u32::from_le_bytes(good[8..12].try_into().unwrap()) as usize;
        for i in 0..3000 {
            let mut b = good.clone();
            let at = match i % 3 {
                0 => rng.below(24) as usize,
                1 => 256 + 0x0100 * 8 + rng.below(16) as usize,
                _ => REGION_START + rng.below((n - REGION_START) as u64) as usize,
            };
            b[at] ^= 1 << rng.below(8);
            if i % 7 == 0 {
                let at2 = first + rng.below((n - first) as u64) as usize;
                b[at2] = rng.next_u64() as u8;
            }
            if check_mutant(&b, &mut rng, Duration::from_secs(2)) {
                ok += 1;
            } else {
                refused += 1;
            }
        }
    }
    eprintln!("synthetic mutants: {ok} imported consistently, {refused} refused");
    assert!(refused > 0 && ok > 0);
}

#[test]
fn the_real_file_mutated_is_refused_or_consistent() {
    const TEST: &str = "the_real_file_mutated_is_refused_or_consistent";
    let Some(path) = common::data_file(TEST, "ip2region/ip2region.xdb") else {
        return;
    };
    let good = std::fs::read(&path).unwrap();
    let n = good.len();
    let mut rng = SplitMix(5);
    let rounds = if cfg!(debug_assertions) { 8 } else { 60 };
    let (mut ok, mut refused) = (0, 0);
    for i in 0..rounds {
        let mut b = good.clone();
        if i % 4 == 0 {
            b.truncate(rng.below(n as u64) as usize);
        } else {
            for _ in 0..1 + i % 3 {
                let at = rng.below(n as u64) as usize;
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
