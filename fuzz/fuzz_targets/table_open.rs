//! Arbitrary bytes into the table reader, checksum off and the header's
//! size field set to the input's length, so that the fuzzer reaches the
//! structural checks: `open` must return `Ok` or `Err`, never panic, and an
//! opened table must answer lookups (records, networks, country codes),
//! single and batched, agree between `lookup` and `locate`, and survive
//! `verify` without panicking or looping.
#![no_main]

use ipgeo::table::{OpenOptions, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut data = input.to_vec();
    if data.len() >= 24 {
        let len = data.len() as u64;
        data[16..24].copy_from_slice(&len.to_le_bytes());
    }
    let data = &data[..];
    let Ok(t) = Table::open_with(data, OpenOptions { checksum: false }) else {
        return;
    };
    let langs = t.meta().languages.clone();
    // Probe addresses derived from the input, plus fixed ones.
    let mut v4: Vec<u32> = vec![0, 1, 0x0102_0304, 0x7F00_0001, u32::MAX];
    let mut v6: Vec<u128> = vec![0, 1, 0xffff_0102_0304, 0x2001_0db8 << 96, u128::MAX];
    for c in data.chunks(16).take(32) {
        let mut b = [0u8; 16];
        b[..c.len()].copy_from_slice(c);
        let x = u128::from_le_bytes(b);
        v4.push(x as u32);
        v6.push(x);
    }
    for &a in &v4 {
        let located = t.locate_v4(a);
        if let Some(hit) = t.lookup_v4(a) {
            let _ = hit.record.to_json_with(&langs, true);
            let _ = hit.network.to_string();
            assert_eq!(located, Some((hit.record.id(), hit.network)));
        }
        let _ = t.country_code_v4(a);
    }
    for &a in &v6 {
        let located = t.locate_v6(a);
        if let Some(hit) = t.lookup_v6(a) {
            let _ = hit.record.to_json_with(&langs, true);
            assert_eq!(located, Some((hit.record.id(), hit.network)));
        }
        let _ = t.country_code_v6(a);
    }
    let mut out = vec![0u32; v6.len()];
    t.find_v4_refs(&v4, &mut out);
    for (a, r) in v4.iter().zip(&out) {
        assert_eq!(*r, t.find_v4_ref(*a));
    }
    t.find_v6_refs(&v6, &mut out);
    for (a, r) in v6.iter().zip(&out) {
        assert_eq!(*r, t.find_v6_ref(*a));
    }
    let _ = t.verify();
});
