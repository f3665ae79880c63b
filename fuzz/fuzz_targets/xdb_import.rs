//! Bytes into the ip2region xdb importer: it must return `Ok` or `Err`,
//! never panic, take time bounded by the input's size, and an imported file
//! must answer like the official searcher (ported here) on the same bytes.
//!
//! A real xdb file has a fixed 512 KiB vector index, too large for the
//! fuzzer to grow, so the input is expanded:
//!
//! - first byte even: the rest is the file, as is;
//! - first byte odd: the rest is a 256-byte header (segment index pointers
//!   relative to the end of the vector index) and what follows the vector
//!   index (regions, segment index); the vector index is written as the
//!   maker would from the segments, then, if the first byte's bit 1 is set,
//!   one of its bytes is overwritten as the next input bytes say. Bytes
//!   after the segment index the header names are dropped.
#![no_main]

use ipgeo::import::xdb::{import_xdb, parse_header, HEADER_LEN, REGION_START};
use ipgeo::import::ImportOptions;
use libfuzzer_sys::fuzz_target;

fn expand(input: &[u8]) -> Vec<u8> {
    let (mode, rest) = match input.split_first() {
        Some((m, r)) => (*m, r),
        None => return Vec::new(),
    };
    if mode & 1 == 0 {
        return rest.to_vec();
    }
    let mut header = [0u8; HEADER_LEN];
    let n = rest.len().min(HEADER_LEN);
    header[..n].copy_from_slice(&rest[..n]);
    let payload = &rest[n..];
    for at in [8, 12] {
        let v = u32::from_le_bytes(header[at..at + 4].try_into().unwrap());
        let v = v.wrapping_add(REGION_START as u32);
        header[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let mut b = header.to_vec();
    b.resize(REGION_START, 0);
    b.extend(payload);
    // The segment index ends the file: drop what follows it.
    let v6 = b[0..2] == [3, 0] && b[16..18] == [6, 0];
    let end = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize + if v6 { 38 } else { 14 };
    if end >= REGION_START && end < b.len() {
        b.truncate(end);
    }
    // The vector index, as the maker writes it (when the header is sane).
    if let Ok(h) = parse_header(&b) {
        let size = h.segment_size();
        let first = h.start_index_ptr as usize;
        let shift = if h.v6 { 112 } else { 16 };
        let mut lo = vec![usize::MAX; 65536];
        let mut hi = vec![0usize; 65536];
        for i in 0..h.segments().min(1 << 16) {
            let o = first + i * size;
            let (s, e) = if h.v6 {
                (
                    u128::from_be_bytes(b[o..o + 16].try_into().unwrap()),
                    u128::from_be_bytes(b[o + 16..o + 32].try_into().unwrap()),
                )
            } else {
                (
                    u128::from(u32::from_le_bytes(b[o..o + 4].try_into().unwrap())),
                    u128::from(u32::from_le_bytes(b[o + 4..o + 8].try_into().unwrap())),
                )
            };
            if s > e {
                break;
            }
            let (bs, be) = ((s >> shift) as usize, (e >> shift) as usize);
            if be - bs > 4096 {
                continue;
            }
            for blk in bs..=be {
                lo[blk] = lo[blk].min(i);
                hi[blk] = hi[blk].max(i);
            }
        }
        for blk in 0..65536 {
            if lo[blk] != usize::MAX {
                let o = HEADER_LEN + blk * 8;
                let sp = (first + lo[blk] * size) as u32;
                let ep = (first + hi[blk] * size + size) as u32;
                b[o..o + 4].copy_from_slice(&sp.to_le_bytes());
                b[o + 4..o + 8].copy_from_slice(&ep.to_le_bytes());
            }
        }
        if mode & 2 != 0 && payload.len() >= 4 {
            let at = u32::from_le_bytes(payload[..4].try_into().unwrap()) as usize;
            b[HEADER_LEN + at % (REGION_START - HEADER_LEN)] = payload[0] ^ payload[3];
        }
    }
    b
}

/// `Searcher.search` in content-buffer mode; `None` where Python raises.
fn search(b: &[u8], a: u128, v6: bool) -> Option<String> {
    let slice = |o: usize, n: usize| &b[o.min(b.len())..o.saturating_add(n).min(b.len())];
    let le = |s: &[u8], o: usize, n: usize| {
        s.get(o..o + n).map(|x| {
            x.iter()
                .rev()
                .fold(0usize, |acc, &v| acc << 8 | usize::from(v))
        })
    };
    let ip: Vec<u8> = if v6 {
        a.to_be_bytes().to_vec()
    } else {
        (a as u32).to_be_bytes().to_vec()
    };
    let idx = 256 + usize::from(ip[0]) * 2048 + usize::from(ip[1]) * 8;
    let (sp, ep) = (le(b, idx, 4)?, le(b, idx + 4, 4)?);
    if sp == 0 || ep == 0 {
        return Some(String::new());
    }
    let size = if v6 { 38 } else { 14 };
    let n = ip.len();
    let cmp = |buff: &[u8], o: usize| -> Option<std::cmp::Ordering> {
        if v6 {
            Some(
                ip.as_slice()
                    .cmp(&buff[o.min(buff.len())..(o + 16).min(buff.len())]),
            )
        } else {
            for (k, &x) in ip.iter().enumerate() {
                let y = *buff.get(o + 3 - k)?;
                if x != y {
                    return Some(x.cmp(&y));
                }
            }
            Some(std::cmp::Ordering::Equal)
        }
    };
    let (mut low, mut high) = (0i64, (ep as i64 - sp as i64).div_euclid(size as i64));
    let (mut dlen, mut dptr) = (0, 0);
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
        return Some(String::new());
    }
    String::from_utf8(slice(dptr, dlen).to_vec()).ok()
}

fuzz_target!(|input: &[u8]| {
    let b = expand(input);
    let opts = ImportOptions {
        name: "fuzz".into(),
        languages: vec!["en".into(), "zh-CN".into()],
        default_lang: "zh-CN".into(),
    };
    let Ok(src) = import_xdb(&b, &opts) else {
        return;
    };
    let v6 = parse_header(&b).unwrap().v6;
    let ivs = if v6 { &src.v6 } else { &src.v4 };
    assert!(ivs.windows(2).all(|w| w[0].end < w[1].start));
    assert!(ivs.iter().all(|iv| (iv.rec as usize) < src.records.len()));
    // Interval edges: the searcher finds data exactly where the import
    // has a non-empty record, or an empty-mapping region.
    for iv in ivs.iter().take(64) {
        for a in [
            iv.start,
            iv.end,
            iv.end.wrapping_add(1),
            iv.start.wrapping_sub(1),
        ] {
            let a = if v6 { a } else { a & 0xFFFF_FFFF };
            let Some(region) = search(&b, a, v6) else {
                continue;
            };
            let i = ivs.partition_point(|x| x.start <= a);
            let rec = i
                .checked_sub(1)
                .filter(|&i| ivs[i].end >= a)
                .map(|i| &src.records[ivs[i].rec as usize]);
            if region.is_empty() {
                assert!(
                    rec.is_none_or(|r| r.is_empty()),
                    "{a:x}: searcher has nothing"
                );
            } else {
                assert!(
                    rec.is_some(),
                    "{a:x}: searcher has {region:?}, the import nothing"
                );
            }
        }
    }
});
