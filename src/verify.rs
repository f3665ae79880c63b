//! The deep table check behind [`Table::verify`](crate::table::Table::verify).

use crate::format::{self, read_u32, read_u64, ColumnType};
use crate::table::{Table, TableError, VerifyReport};

fn corrupt<T>(msg: String) -> Result<T, TableError> {
    Err(TableError::Corrupt(msg))
}

/// A set of offsets, as a bitmap.
struct Starts(Vec<u64>);

impl Starts {
    fn new(n: usize) -> Self {
        Starts(vec![0; n / 64 + 1])
    }
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

pub(crate) fn verify<S: AsRef<[u8]>>(t: &Table<S>) -> Result<VerifyReport, TableError> {
    let p = t.parts();
    let b = p.b;
    let mut report = VerifyReport::default();

    let actual = crate::build::writer::checksum(b);
    if actual != p.checksum {
        return corrupt(format!(
            "checksum mismatch: header has {:#018x}, content hashes to {actual:#018x}",
            p.checksum
        ));
    }

    // Columns: known fields, sorted, names carry a language and others none.
    for (i, c) in p.columns.iter().enumerate() {
        let Some(field) = c.field else {
            return corrupt(format!("column {i}: unknown field id {}", c.field_id));
        };
        if field.is_name() != c.lang.is_some() {
            return corrupt(format!(
                "column {i} ({field}): language tag does not match the field kind"
            ));
        }
        if i > 0 {
            let prev = &p.columns[i - 1];
            if (prev.field_id, prev.lang) >= (c.field_id, c.lang) {
                return corrupt(format!(
                    "column {i} ({field}): columns are not sorted and unique"
                ));
            }
        }
    }

    // Strings: a sequence of (varint length, UTF-8 bytes).
    let (soff, slen) = p.strings;
    let mut string_starts = Starts::new(slen);
    let mut pos = 0usize;
    while pos < slen {
        let Some((len, n)) = format::read_varint(&b[soff..soff + slen], pos) else {
            return corrupt(format!(
                "section strings: bad length at offset {}",
                soff + pos
            ));
        };
        let end = pos + n + len as usize;
        if end > slen {
            return corrupt(format!(
                "section strings: string at offset {} runs past the end",
                soff + pos
            ));
        }
        if std::str::from_utf8(&b[soff + pos + n..soff + end]).is_err() {
            return corrupt(format!(
                "section strings: string at offset {} is not UTF-8",
                soff + pos
            ));
        }
        string_starts.insert(pos);
        report.strings += 1;
        pos = end;
    }

    // Records: presence word then slots, back to back after an 8-byte preamble.
    let (roff, rlen) = p.records;
    let ncols = p.columns.len();
    let mut record_starts = Starts::new(rlen / 4);
    let mut pos = 8usize;
    if read_u64(b, roff) != Some(0) {
        return corrupt(format!(
            "section records: preamble at offset {roff} is not zero"
        ));
    }
    while pos < rlen {
        let at = roff + pos;
        let Some(presence) = read_u64(b, at) else {
            return corrupt(format!(
                "section records: record at offset {at} is truncated"
            ));
        };
        if ncols < 64 && presence >> ncols != 0 {
            return corrupt(format!(
                "section records: record at offset {at} has values for unknown columns"
            ));
        }
        let mut slot = at + 8;
        for (i, c) in p.columns.iter().enumerate() {
            if presence & (1 << i) == 0 {
                continue;
            }
            let Some(w) = read_u32(b, slot).filter(|_| slot + 4 * c.ty.slots() <= roff + rlen)
            else {
                return corrupt(format!(
                    "section records: record at offset {at} runs past the end"
                ));
            };
            if c.ty == ColumnType::Str && !string_starts.contains(w as usize) {
                return corrupt(format!(
                    "section records: record at offset {at}, column {i}: string offset {w} is not a string"
                ));
            }
            slot += 4 * c.ty.slots();
        }
        record_starts.insert(pos / 4);
        report.records += 1;
        // The country directory agrees with the record's country code.
        if !p.countries.is_empty() {
            let r = (pos / 4) as u32;
            let dir = t.country_of(r);
            let own = t
                .record(r)
                .and_then(|rec| rec.get_str(crate::field::Field::CountryCode))
                .map(str::as_bytes);
            let own2 = own.filter(|s| s.len() == 2).map(|s| [s[0], s[1]]);
            if dir != own2 {
                return corrupt(format!(
                    "section countries: record at offset {at} has country {own:?}, the directory says {dir:?}"
                ));
            }
        }
        pos = slot - roff;
    }
    let rec_ok = |r: u32| r == format::REC_NONE || record_starts.contains(r as usize);

    // Ranges: records exist, neighbours in a slot differ; the index is exact.
    for (name, f, v6) in [("v4", p.v4, false), ("v6", p.v6, true)] {
        let bits: u32 = if v6 { 64 } else { 32 };
        let sub = bits - format::SLOT_BITS;
        let key = |i: usize| t.key(&f, v6, i).unwrap_or(0);
        let rec = |i: usize| t.rec(&f, v6, i).unwrap_or(0);
        for slot in 0..format::SLOTS as u64 {
            let (first, end) = t.slot_bounds(&f, slot << sub, bits).unwrap_or((0, 0));
            for i in first..end {
                let r = rec(i);
                let split = v6 && r & format::REC_SPLIT != 0;
                if !split && !rec_ok(r) {
                    return corrupt(format!(
                        "section {name}_ranges: entry {i} refers to {r:#x}, not a record"
                    ));
                }
                if i > first && r == rec(i - 1) {
                    return corrupt(format!(
                        "section {name}_ranges: entries {} and {i} are not coalesced",
                        i - 1
                    ));
                }
            }
        }
        // The entry (global index) containing global key `a`, by bisection
        // inside its slot.
        let containing = |a: u64| -> usize {
            let (first, end) = t.slot_bounds(&f, a, bits).unwrap_or((0, 1));
            let rel = a & ((1u64 << sub) - 1);
            let (mut lo, mut hi) = (first, end);
            while lo < hi {
                let m = (lo + hi) / 2;
                if key(m) <= rel {
                    lo = m + 1;
                } else {
                    hi = m;
                }
            }
            lo - 1
        };
        // Walk the index tree: every leaf must name the range containing its
        // sub-span's first address (or, direct, the record of a range that
        // holds the whole sub-span), and every bucket entry must belong to
        // exactly one node.
        let nb = f.buckets.len / 4;
        let mut owned = vec![false; nb];
        // (entry offset, sub-span start, sub-span bits)
        let mut stack: Vec<(usize, u64, u32)> = (0..format::SLOTS as u64)
            .map(|j| (f.root + j as usize * 4, j << sub, sub))
            .collect();
        while let Some((off, start, span)) = stack.pop() {
            let e = read_u32(b, off).unwrap_or(0);
            if e & format::NODE == 0 && e & format::DIRECT != 0 {
                let i = containing(start);
                let last = start + ((1u128 << span) - 1) as u64;
                if containing(last) != i || rec(i) != e & format::LEAF_MASK {
                    return corrupt(format!(
                        "section {name}_buckets: direct entry at offset {off} does not match its range"
                    ));
                }
                continue;
            }
            if e & format::NODE == 0 {
                let expect = containing(start);
                if e as usize != expect {
                    return corrupt(format!(
                        "section {name}_buckets: entry at offset {off} names range {e}, expected {expect}"
                    ));
                }
                continue;
            }
            let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
            let base = (e & format::NODE_BASE_MASK) as usize;
            if k == 0 || k > span || base + (1 << k) > nb {
                return corrupt(format!(
                    "section {name}_buckets: node at offset {off} is out of bounds"
                ));
            }
            for j in 0..(1usize << k) {
                if std::mem::replace(&mut owned[base + j], true) {
                    return corrupt(format!(
                        "section {name}_buckets: entry {} belongs to two nodes",
                        base + j
                    ));
                }
                stack.push((
                    f.buckets.off + (base + j) * 4,
                    start + ((j as u64) << (span - k)),
                    span - k,
                ));
            }
        }
        if let Some(i) = owned.iter().position(|o| !o) {
            return corrupt(format!(
                "section {name}_buckets: entry {i} belongs to no node"
            ));
        }
        if v6 {
            report.v6_ranges = f.n;
        } else {
            report.v4_ranges = f.n;
        }
    }
    let (loff, llen) = p.low;
    let nlow = llen / format::V6_LOW_ENTRY;
    for i in 0..nlow {
        let r = read_u32(b, loff + i * format::V6_LOW_ENTRY + 8).unwrap_or(0);
        if !rec_ok(r) {
            return corrupt(format!(
                "section v6_low: entry {i} refers to {r:#x}, not a record"
            ));
        }
    }
    report.v6_low = nlow;
    report.v6_splits = (p.splits.1 / 4).saturating_sub(1);
    for (i, (r, _)) in p.countries.iter().enumerate() {
        if !record_starts.contains(*r as usize) {
            return corrupt(format!(
                "section countries: entry {i} refers to {r:#x}, not a record"
            ));
        }
    }
    // The IPv4 country ranges answer as the records do: checked at every
    // address where either side changes (each range start and each country
    // entry start), between which both are constant.
    if let Some((cslots, coff, clen)) = p.v4_countries {
        let check = |ip: u32| -> Result<(), TableError> {
            let want = t.country_of_ref(t.find_v4_ref(ip));
            let got = t.country_code_v4(ip);
            if got != want {
                return corrupt(format!(
                    "section v4_countries: {} answers {:?}, its record has {:?}",
                    std::net::Ipv4Addr::from(ip),
                    got.map(|c| String::from_utf8_lossy(&c).into_owned()),
                    want.map(|c| String::from_utf8_lossy(&c).into_owned()),
                ));
            }
            Ok(())
        };
        let f = p.v4;
        for slot in 0..format::SLOTS {
            let at = |dir: usize, s: usize| read_u32(b, dir + s * 4).unwrap_or(0) as usize;
            let base = (slot as u32) << 16;
            for i in at(f.slots, slot)..at(f.slots, slot + 1) {
                let k =
                    crate::format::read_u16(b, f.ranges.off + i * format::V4_ENTRY).unwrap_or(0);
                check(base | u32::from(k))?;
            }
            for i in at(cslots, slot)..at(cslots, slot + 1).min(clen / 4) {
                check(base | (read_u32(b, coff + i * 4).unwrap_or(0) >> 16))?;
            }
        }
        report.v4_country_ranges = clen / 4;
    }
    for w in p.aliases.windows(2) {
        if w[0] >= w[1] {
            return corrupt("section aliases: entries are not sorted and unique".into());
        }
    }
    Ok(report)
}
