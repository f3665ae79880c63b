//! Arbitrary bytes into the IPIP.net ipdb importer: it must return `Ok` or
//! `Err`, never panic, take time and memory bounded by the input's size, and
//! an imported file must answer like the npm reader (ported here, with Go's
//! reading of "no data") on the same bytes.
#![no_main]

use ipgeo::import::ipdb::{import_ipdb, parse_meta};
use ipgeo::import::ImportOptions;
use ipgeo::source::Source;
use libfuzzer_sys::fuzz_target;

/// The reader's answer: `None` where it throws, `Some(None)` for no data,
/// else the first language's values.
fn find(b: &[u8], a: u128, v6: bool) -> Option<Option<Vec<String>>> {
    let meta = parse_meta(b).ok()?;
    let raw = &b[meta.tree_start..];
    let nc = meta.node_count as usize;
    let node = |id: usize, bit: usize| -> Option<usize> {
        let o = (id << 3) | (bit << 2);
        Some(u32::from_be_bytes(raw.get(o..o + 4)?.try_into().unwrap()) as usize)
    };
    let (mut n, bits) = if v6 {
        (0, 128)
    } else {
        match meta.v4node {
            Some(v) => (v as usize, 32),
            None => {
                let mut n = 0;
                for i in 0..96 {
                    n = node(n, usize::from(i >= 80))?;
                }
                (n, 32)
            }
        }
    };
    let addr = if v6 { a } else { a << 96 };
    for cidr in 0..bits {
        n = node(n, ((addr >> (127 - cidr)) & 1) as usize)?;
        if n >= nc {
            break;
        }
    }
    if n == nc {
        return Some(None);
    }
    let off = n.checked_add(nc * 7)?;
    let len = raw.get(off..off + 2)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let body = &raw[(off + 2).min(raw.len())..(off + 2 + len).min(raw.len())];
    let text = String::from_utf8_lossy(body);
    let values: Vec<&str> = text.split('\t').collect();
    let lang = meta.languages[0].1;
    Some(Some(
        values
            .iter()
            .skip(lang)
            .take(meta.fields.len())
            .map(|s| s.to_string())
            .collect(),
    ))
}

fn imported(src: &Source, v6: bool, a: u128) -> Option<u32> {
    let ivs = if v6 { &src.v6 } else { &src.v4 };
    let i = ivs.partition_point(|iv| iv.start <= a).checked_sub(1)?;
    (ivs[i].end >= a).then_some(ivs[i].rec)
}

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        name: "fuzz".into(),
        languages: vec!["en".into(), "zh-CN".into()],
        default_lang: "zh-CN".into(),
    };
    let Ok(src) = import_ipdb(data, &opts) else {
        return;
    };
    assert!(src.v4.windows(2).all(|w| w[0].end < w[1].start));
    assert!(src.v6.windows(2).all(|w| w[0].end < w[1].start));
    let meta = parse_meta(data).unwrap();
    for (v6, ivs) in [(false, &src.v4), (true, &src.v6)] {
        if (v6 && !meta.has_v6()) || (!v6 && !meta.has_v4()) {
            continue;
        }
        for iv in ivs.iter().take(64) {
            for a in [iv.start, iv.end] {
                let a = if v6 { a } else { a & 0xFFFF_FFFF };
                let answer = find(data, a, v6);
                let answer = answer.unwrap_or_else(|| panic!("{a:x}: the reader throws"));
                let values = answer.unwrap_or_else(|| panic!("{a:x}: the reader has no data"));
                assert!(
                    values.len() == meta.fields.len(),
                    "{a:x}: the reader has {} values",
                    values.len()
                );
                assert!(imported(&src, v6, a).is_some());
            }
        }
    }
});
