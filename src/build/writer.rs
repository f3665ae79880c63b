//! Serialises merged ranges and records into table bytes (format version 1).

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use super::BuildError;
use crate::field::{Field, FieldKind, Value};
use crate::format::{self, ColumnType, Kind};
use crate::source::{Alias, Interval, SourceRecord};

/// Most IPv4 range keys a leaf's scan may pass (8 entries: one cache line).
const V4_SCAN: usize = 8;
/// Most IPv6 range keys a leaf's scan may pass (12-byte entries).
const V6_SCAN: usize = 5;

/// Everything the writer needs: final records and, per family, sorted
/// disjoint intervals that refer to them.
pub struct TableInput<'a> {
    /// The table's languages, primary first.
    pub languages: &'a [String],
    /// Final records; intervals refer to them by index.
    pub records: &'a [SourceRecord],
    /// IPv4 intervals, sorted and disjoint.
    pub v4: &'a [Interval],
    /// IPv6 intervals, sorted and disjoint.
    pub v6: &'a [Interval],
    /// IPv6 prefixes answered from the IPv4 table.
    pub aliases: &'a [Alias],
    /// Metadata (JSON object) to store; the writer adds counts and columns.
    pub meta: serde_json::Value,
    /// Build time, Unix seconds.
    pub build_time: u64,
    /// Target number of candidate ranges per index bucket.
    pub bucket_target: f64,
}

/// Sizes of what was written, for the build summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WriteStats {
    /// Distinct records written.
    pub records: usize,
    /// Distinct strings in the pool.
    pub strings: usize,
    /// IPv4 range entries (after coalescing, gaps included).
    pub v4_ranges: usize,
    /// IPv6 range entries over the high 64 bits.
    pub v6_ranges: usize,
    /// /64 blocks that are split below /64.
    pub v6_splits: usize,
    /// Range entries inside split /64 blocks.
    pub v6_low: usize,
    /// IPv4 country range entries (the `country_code` fast path).
    pub v4_country_ranges: usize,
    /// Bytes per section, by section name.
    pub sections: Vec<(String, usize)>,
    /// Total bytes.
    pub size: usize,
}

/// A column: field, language index and storage type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Column {
    field: Field,
    lang: Option<u8>,
    ty: ColumnType,
}

/// Serialises the table. Returns the file bytes and what they contain.
///
/// # Errors
/// Fails if a value has the wrong type for its field, if there are more than
/// [`format::MAX_COLUMNS`] columns, or if a section outgrows its offsets.
pub fn write(input: &TableInput<'_>) -> Result<(Vec<u8>, WriteStats), BuildError> {
    // Only records that some interval refers to are written.
    let mut used = vec![false; input.records.len()];
    for iv in input.v4.iter().chain(input.v6) {
        let slot = used
            .get_mut(iv.rec as usize)
            .ok_or_else(|| BuildError::Invalid(format!("interval refers to record {}", iv.rec)))?;
        *slot = true;
    }
    let columns = columns(input.records, &used)?;
    let mut strings = StringPool::default();
    let mut records = RecordWriter::new(&columns);
    let mut refs = vec![format::REC_NONE; input.records.len()];
    // Records grouped by country code, so that a country is known from a
    // record reference alone (the `countries` section).
    let cc_of = |i: usize| -> [u8; 2] {
        match input.records[i]
            .get(Field::CountryCode, None)
            .and_then(Value::as_str)
        {
            Some(s) if s.len() == 2 => [s.as_bytes()[0], s.as_bytes()[1]],
            _ => [0, 0],
        }
    };
    let mut order: Vec<usize> = (0..input.records.len()).filter(|&i| used[i]).collect();
    order.sort_by_key(|&i| (cc_of(i), i));
    let mut countries: Vec<(u32, [u8; 2])> = Vec::new();
    for i in order {
        let r = records.add(&input.records[i], &mut strings)?;
        refs[i] = r;
        let cc = cc_of(i);
        // Deduplicated records may reuse an earlier reference; only new
        // ones open a run.
        if countries.last().map(|c| c.1) != Some(cc) && countries.last().is_none_or(|c| r > c.0) {
            countries.push((r, cc));
        }
    }

    let v4_segs: Vec<(u64, u32)> = segments_v4(input.v4, &refs)?
        .into_iter()
        .map(|(k, r)| (u64::from(k), r))
        .collect();
    let v4 = layout_family(&v4_segs, 32, input.bucket_target, V4_SCAN)?;
    let code_of = |r: u32| -> u16 {
        if r == format::REC_NONE {
            return 0;
        }
        match crate::table::country_in_runs(&countries, r) {
            Some([a, b]) if a != 0 && b != 0 => u16::from(a) | (u16::from(b) << 8),
            _ => 0,
        }
    };
    let (v4_cc_slots, v4_cc) = country_ranges(&v4_segs, code_of)?;
    drop(v4_segs);
    let v6s = segments_v6(input.v6, &refs)?;
    let v6 = layout_family(&v6s.high, 64, input.bucket_target, V6_SCAN)?;

    let mut stats = WriteStats {
        records: records.count,
        strings: strings.map.len(),
        v4_ranges: v4.entries.len(),
        v6_ranges: v6.entries.len(),
        v6_splits: v6s.splits.len().saturating_sub(1),
        v6_low: v6s.low.len(),
        v4_country_ranges: v4_cc.len(),
        ..WriteStats::default()
    };

    let mut meta = input.meta.clone();
    if let Some(obj) = meta.as_object_mut() {
        obj.insert("languages".into(), serde_json::json!(input.languages));
        obj.insert(
            "columns".into(),
            serde_json::json!(columns
                .iter()
                .map(|c| column_name(c, input.languages))
                .collect::<Vec<_>>()),
        );
        obj.insert(
            "counts".into(),
            serde_json::to_value(&stats).unwrap_or_default(),
        );
    }
    let meta = serde_json::to_vec(&meta).map_err(|e| BuildError::Invalid(e.to_string()))?;

    let mut sections: Vec<(Kind, Vec<u8>)> = vec![
        (Kind::Meta, meta),
        (Kind::Columns, column_bytes(&columns)),
        (Kind::Strings, strings.bytes),
        (Kind::Records, records.bytes),
        (Kind::V4Slots, u32_bytes(&v4.slots)),
        (Kind::V4Root, u32_bytes(&v4.root)),
        (Kind::V4Buckets, u32_bytes(&v4.buckets)),
        (Kind::V4Ranges, {
            let mut b = Vec::with_capacity(v4.entries.len() * format::V4_ENTRY);
            for (k, r) in &v4.entries {
                b.extend_from_slice(&(*k as u16).to_le_bytes());
                b.extend_from_slice(&r.to_le_bytes());
            }
            b
        }),
        (Kind::V6Slots, u32_bytes(&v6.slots)),
        (Kind::V6Root, u32_bytes(&v6.root)),
        (Kind::V6Buckets, u32_bytes(&v6.buckets)),
        (Kind::V6Ranges, {
            let mut b = Vec::with_capacity(v6.entries.len() * format::V6_ENTRY);
            for (k, r) in &v6.entries {
                b.extend_from_slice(&k.to_le_bytes()[..6]);
                b.extend_from_slice(&r.to_le_bytes());
            }
            b
        }),
        (Kind::V6Splits, u32_bytes(&v6s.splits)),
        (Kind::V6Low, entries64(&v6s.low)),
        (Kind::Countries, {
            let mut b = Vec::with_capacity(countries.len() * format::COUNTRY_ENTRY);
            for (r, cc) in &countries {
                b.extend_from_slice(&r.to_le_bytes());
                b.extend_from_slice(cc);
                b.extend_from_slice(&[0, 0]);
            }
            b
        }),
        (Kind::V4CountrySlots, u32_bytes(&v4_cc_slots)),
        (Kind::V4Countries, u32_bytes(&v4_cc)),
        (Kind::Aliases, {
            let mut aliases = input.aliases.to_vec();
            if !aliases.contains(&Alias::MAPPED) {
                aliases.push(Alias::MAPPED);
            }
            aliases.sort();
            aliases.dedup();
            let mut b = Vec::with_capacity(aliases.len() * format::ALIAS_ENTRY);
            for a in &aliases {
                if a.len > 96 {
                    return Err(BuildError::Invalid(format!(
                        "alias prefix length {} is over 96",
                        a.len
                    )));
                }
                b.extend_from_slice(&a.prefix.to_le_bytes());
                b.push(a.len);
                b.extend_from_slice(&[0u8; 15]);
            }
            b
        }),
    ];

    // Lay out: header, directory, then each section at an aligned offset.
    let dir_len = sections.len() * format::DIR_ENTRY_SIZE;
    let mut offset = format::align_up(format::HEADER_SIZE + dir_len).unwrap_or(usize::MAX);
    let mut dir = Vec::with_capacity(dir_len);
    for (kind, bytes) in &sections {
        let count = bytes.len() / kind.elem_size();
        dir.extend_from_slice(&(*kind as u32).to_le_bytes());
        dir.extend_from_slice(&0u32.to_le_bytes());
        dir.extend_from_slice(&(offset as u64).to_le_bytes());
        dir.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        dir.extend_from_slice(&(count as u64).to_le_bytes());
        stats.sections.push((kind.name().to_string(), bytes.len()));
        offset = offset
            .checked_add(bytes.len())
            .and_then(format::align_up)
            .ok_or_else(|| BuildError::Invalid("table too large".into()))?;
    }
    let total = offset;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&format::MAGIC);
    out.extend_from_slice(&format::VERSION.to_le_bytes());
    out.extend_from_slice(&format::ENDIAN_CHECK.to_le_bytes());
    out.extend_from_slice(&(total as u64).to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // checksum, filled below
    out.extend_from_slice(&(format::HEADER_SIZE as u32).to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&(format::HEADER_SIZE as u64).to_le_bytes());
    out.extend_from_slice(&input.build_time.to_le_bytes());
    out.resize(format::HEADER_SIZE, 0);
    out.extend_from_slice(&dir);
    for (_, bytes) in sections.iter_mut() {
        out.resize(format::align_up(out.len()).unwrap_or(usize::MAX), 0);
        out.append(bytes);
    }
    out.resize(total, 0);
    let sum = checksum(&out);
    out[format::CHECKSUM_RANGE].copy_from_slice(&sum.to_le_bytes());
    stats.size = total;
    Ok((out, stats))
}

/// The checksum of table bytes: XXH3-64 of the file with the checksum field
/// taken as zero.
pub fn checksum(bytes: &[u8]) -> u64 {
    use xxhash_rust::xxh3::Xxh3;
    if bytes.len() < format::CHECKSUM_RANGE.end {
        return xxh3_64(bytes);
    }
    let mut h = Xxh3::new();
    h.update(&bytes[..format::CHECKSUM_RANGE.start]);
    h.update(&[0u8; 8]);
    h.update(&bytes[format::CHECKSUM_RANGE.end..]);
    h.digest()
}

/// The user-facing name of a column, e.g. `city` or `city@zh-CN`.
fn column_name(c: &Column, languages: &[String]) -> String {
    match c.lang {
        Some(l) => format!(
            "{}@{}",
            c.field.name(),
            languages.get(usize::from(l)).map_or("?", |s| s.as_str())
        ),
        None => c.field.name().to_string(),
    }
}

/// Chooses the columns and their storage types from the used records.
fn columns(records: &[SourceRecord], used: &[bool]) -> Result<Vec<Column>, BuildError> {
    let mut seen: HashMap<(Field, Option<u8>), ColumnType> = HashMap::new();
    for (rec, _) in records.iter().zip(used).filter(|(_, u)| **u) {
        for (field, lang, value) in &rec.values {
            let ty = match (field.kind(), value) {
                (FieldKind::Str | FieldKind::Name, Value::Str(_)) => ColumnType::Str,
                (FieldKind::U32, Value::U32(_)) => ColumnType::U32,
                (FieldKind::Float, Value::F32(_)) => ColumnType::F32,
                (FieldKind::Float, Value::F64(_)) => ColumnType::F64,
                _ => {
                    return Err(BuildError::Invalid(format!(
                        "field {field} cannot hold the value {value:?}"
                    )))
                }
            };
            if lang.is_some() != field.is_name() {
                return Err(BuildError::Invalid(format!(
                    "field {field}: language given for a field that is not a name, or missing"
                )));
            }
            let e = seen.entry((*field, *lang)).or_insert(ty);
            if *e != ty {
                // A float column that holds both f32 and f64 values is stored as f64.
                *e = ColumnType::F64;
            }
        }
    }
    let mut cols: Vec<Column> = seen
        .into_iter()
        .map(|((field, lang), ty)| Column { field, lang, ty })
        .collect();
    cols.sort_by_key(|c| (c.field, c.lang));
    if cols.len() > format::MAX_COLUMNS {
        return Err(BuildError::Invalid(format!(
            "{} columns; a table holds at most {}",
            cols.len(),
            format::MAX_COLUMNS
        )));
    }
    Ok(cols)
}

fn column_bytes(cols: &[Column]) -> Vec<u8> {
    let mut b = Vec::with_capacity(cols.len() * format::COLUMN_ENTRY);
    for c in cols {
        b.push(c.field.id());
        b.push(c.lang.unwrap_or(format::NO_LANG));
        b.push(c.ty as u8);
        b.push(c.ty.slots() as u8);
    }
    b
}

#[derive(Default)]
struct StringPool {
    bytes: Vec<u8>,
    map: HashMap<Box<str>, u32>,
}

impl StringPool {
    fn intern(&mut self, s: &str) -> Result<u32, BuildError> {
        if let Some(&off) = self.map.get(s) {
            return Ok(off);
        }
        let off = u32::try_from(self.bytes.len())
            .map_err(|_| BuildError::Invalid("string pool over 4 GiB".into()))?;
        let len =
            u32::try_from(s.len()).map_err(|_| BuildError::Invalid("string over 4 GiB".into()))?;
        format::write_varint(&mut self.bytes, len);
        self.bytes.extend_from_slice(s.as_bytes());
        self.map.insert(s.into(), off);
        Ok(off)
    }
}

/// Serialises records: a `u64` presence word (bit i = column i present), then
/// one slot per present column (two for f64), in column order.
struct RecordWriter<'c> {
    cols: &'c [Column],
    index: HashMap<(Field, Option<u8>), usize>,
    bytes: Vec<u8>,
    dedup: HashMap<Vec<u32>, u32>,
    count: usize,
}

impl<'c> RecordWriter<'c> {
    fn new(cols: &'c [Column]) -> Self {
        RecordWriter {
            cols,
            index: cols
                .iter()
                .enumerate()
                .map(|(i, c)| ((c.field, c.lang), i))
                .collect(),
            // Record references are byte offsets / 4, and 0 means "no data":
            // the section starts with 8 bytes that no reference points to.
            bytes: vec![0u8; 8],
            dedup: HashMap::new(),
            count: 0,
        }
    }

    fn add(&mut self, rec: &SourceRecord, strings: &mut StringPool) -> Result<u32, BuildError> {
        let mut cells: Vec<(usize, &Value)> = rec
            .values
            .iter()
            .filter_map(|(f, l, v)| self.index.get(&(*f, *l)).map(|&i| (i, v)))
            .collect();
        cells.sort_by_key(|(i, _)| *i);
        cells.dedup_by_key(|(i, _)| *i);
        let mut presence: u64 = 0;
        let mut words: Vec<u32> = vec![0, 0];
        for (i, v) in cells {
            presence |= 1 << i;
            match (self.cols[i].ty, v) {
                (ColumnType::Str, Value::Str(s)) => words.push(strings.intern(s)?),
                (ColumnType::U32, Value::U32(n)) => words.push(*n),
                (ColumnType::F32, Value::F32(x)) => words.push(x.to_bits()),
                (ColumnType::F64, v) => {
                    let x = v.as_f64().unwrap_or(f64::NAN).to_bits();
                    words.push(x as u32);
                    words.push((x >> 32) as u32);
                }
                (ty, v) => {
                    return Err(BuildError::Invalid(format!(
                        "column {:?} cannot hold {v:?}",
                        ty
                    )))
                }
            }
        }
        words[0] = presence as u32;
        words[1] = (presence >> 32) as u32;
        if let Some(&r) = self.dedup.get(&words) {
            return Ok(r);
        }
        let r = u32::try_from(self.bytes.len() / 4)
            .ok()
            .filter(|r| r & format::REC_SPLIT == 0)
            .ok_or_else(|| BuildError::Invalid("records section over 8 GiB".into()))?;
        for w in &words {
            self.bytes.extend_from_slice(&w.to_le_bytes());
        }
        self.dedup.insert(words, r);
        self.count += 1;
        Ok(r)
    }
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn entries64(v: &[(u64, u32)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(v.len() * 12);
    for (k, r) in v {
        b.extend_from_slice(&k.to_le_bytes());
        b.extend_from_slice(&r.to_le_bytes());
    }
    b
}

/// Turns sorted, disjoint intervals into `(start, record ref)` segments that
/// cover the whole space from 0: gaps get [`format::REC_NONE`], neighbours
/// with the same reference coalesce.
fn cover(intervals: &[Interval], refs: &[u32], max: u128) -> Result<Vec<(u128, u32)>, BuildError> {
    let mut out: Vec<(u128, u32)> = Vec::with_capacity(intervals.len() + 1);
    let mut next: Option<u128> = Some(0); // first address not yet covered
    let push = |out: &mut Vec<(u128, u32)>, start: u128, r: u32| {
        if out.last().map(|l| l.1) != Some(r) {
            out.push((start, r));
        }
    };
    for iv in intervals {
        if iv.start > iv.end || iv.end > max {
            return Err(BuildError::Invalid(format!(
                "interval {:#x}..{:#x} is out of order or out of range",
                iv.start, iv.end
            )));
        }
        let Some(n) = next else {
            return Err(BuildError::Invalid("intervals overlap".into()));
        };
        if iv.start < n {
            return Err(BuildError::Invalid(format!(
                "intervals overlap or are unsorted at {:#x}",
                iv.start
            )));
        }
        if iv.start > n {
            push(&mut out, n, format::REC_NONE);
        }
        push(&mut out, iv.start, refs[iv.rec as usize]);
        next = iv.end.checked_add(1).filter(|v| *v <= max);
    }
    if let Some(n) = next {
        push(&mut out, n, format::REC_NONE);
    }
    Ok(out)
}

fn segments_v4(intervals: &[Interval], refs: &[u32]) -> Result<Vec<(u32, u32)>, BuildError> {
    Ok(cover(intervals, refs, u128::from(u32::MAX))?
        .into_iter()
        .map(|(s, r)| (s as u32, r))
        .collect())
}

/// IPv6 ranges: entries over the high 64 bits, plus the split /64 blocks.
struct V6Entries {
    high: Vec<(u64, u32)>,
    splits: Vec<u32>,
    low: Vec<(u64, u32)>,
}

fn segments_v6(intervals: &[Interval], refs: &[u32]) -> Result<V6Entries, BuildError> {
    const LOW: u128 = u64::MAX as u128;
    let segs = cover(intervals, refs, u128::MAX)?;
    // A /64 block is split when some segment starts inside it.
    let mut split_blocks: Vec<u64> = segs
        .iter()
        .filter(|(s, _)| s & LOW != 0)
        .map(|(s, _)| (s >> 64) as u64)
        .collect();
    split_blocks.dedup();
    let is_split = |b: u64| split_blocks.binary_search(&b).is_ok();

    let mut high: Vec<(u64, u32)> = Vec::with_capacity(segs.len());
    let mut splits: Vec<u32> = vec![0];
    let mut low: Vec<(u64, u32)> = Vec::new();
    let mut open: Option<u64> = None; // the split block being filled
    let mut open_split = |b: u64,
                          high: &mut Vec<(u64, u32)>,
                          splits: &mut Vec<u32>,
                          low: &Vec<(u64, u32)>|
     -> Result<(), BuildError> {
        if open == Some(b) {
            return Ok(());
        }
        if open.is_some() {
            splits.push(
                u32::try_from(low.len())
                    .map_err(|_| BuildError::Invalid("too many split entries".into()))?,
            );
        }
        let t = u32::try_from(splits.len() - 1)
            .ok()
            .filter(|t| t & format::REC_SPLIT == 0)
            .ok_or_else(|| BuildError::Invalid("too many split /64 blocks".into()))?;
        high.push((b, format::REC_SPLIT | t));
        open = Some(b);
        Ok(())
    };
    for (i, &(s, r)) in segs.iter().enumerate() {
        let e = segs.get(i + 1).map_or(u128::MAX, |n| n.0 - 1);
        let b0 = (s >> 64) as u64;
        let b1 = (e >> 64) as u64;
        let mut first_full = b0;
        if is_split(b0) {
            open_split(b0, &mut high, &mut splits, &low)?;
            low.push(((s & LOW) as u64, r));
            if b1 == b0 {
                continue;
            }
            first_full = b0 + 1;
        }
        let tail_split = is_split(b1);
        let last_full = if tail_split {
            b1.checked_sub(1)
        } else {
            Some(b1)
        };
        if let Some(last_full) = last_full {
            if first_full <= last_full && high.last().map(|h| h.1) != Some(r) {
                high.push((first_full, r));
            }
        }
        if tail_split {
            open_split(b1, &mut high, &mut splits, &low)?;
            low.push((0, r));
        }
    }
    if open.is_some() {
        splits.push(
            u32::try_from(low.len())
                .map_err(|_| BuildError::Invalid("too many split entries".into()))?,
        );
    }
    Ok(V6Entries { high, splits, low })
}

/// One family laid out for the file: per-slot range entries and the index.
struct FamilyOut {
    /// First entry of each slot, then the entry count.
    slots: Vec<u32>,
    /// `(key relative to the slot, record)`.
    entries: Vec<(u64, u32)>,
    root: Vec<u32>,
    buckets: Vec<u32>,
}

/// Lays out one family: cuts the covering segments (global keys of `bits`
/// bits, first key 0) at slot boundaries, so that every slot starts with an
/// entry at relative key 0, and builds the index.
///
/// The index is a tree of nodes, each cutting its span of the address space
/// into `2^k` equal sub-spans; the root has one entry per slot. Each entry
/// is either a child node over its sub-span ([`format::NODE`]) or a leaf: the
/// record itself when the sub-span lies within one range
/// ([`format::DIRECT`]), else the index of the range containing the
/// sub-span's first address. A sub-span gets a child when more than `cmax`
/// range keys fall inside it; the child's `k` is chosen so that its sub-spans
/// hold about `target` keys on average. A lookup descends to a leaf and
/// scans forward from its range, so a scan never passes more than `cmax`
/// keys unless the span cannot be cut further.
fn layout_family(
    segs: &[(u64, u32)],
    bits: u32,
    target: f64,
    cmax: usize,
) -> Result<FamilyOut, BuildError> {
    let sub = bits - format::SLOT_BITS;
    let (slots, entries) = cut_slots(segs, bits)?;
    let mut out = FamilyOut {
        slots,
        entries,
        root: vec![0; format::SLOTS],
        buckets: Vec::with_capacity(segs.len() / 2),
    };
    for slot in 0..format::SLOTS {
        let (first, end) = (out.slots[slot] as usize, out.slots[slot + 1] as usize);
        let keys: Vec<u64> = out.entries[first..end].iter().map(|e| e.0).collect();
        let recs: Vec<u32> = out.entries[first..end].iter().map(|e| e.1).collect();
        let mut b = IndexBuilder {
            keys: &keys,
            recs: &recs,
            first,
            target,
            cmax,
            buckets: &mut out.buckets,
        };
        let mut entry = [0u32; 1];
        b.fill_entry(&mut entry, 0, 0, sub, keys.len() - 1)?;
        out.root[slot] = entry[0];
    }
    if out.entries.len() > format::LEAF_MASK as usize {
        return Err(BuildError::Invalid("too many ranges".into()));
    }
    Ok(out)
}

/// A slot directory and the entries it indexes.
type SlotCut = (Vec<u32>, Vec<(u64, u32)>);

/// Cuts covering segments (global keys of `bits` bits, first key 0) at slot
/// boundaries, so that every slot starts with an entry at relative key 0.
/// Returns the slot directory (the first entry of each slot, then the entry
/// count) and the entries, `(key relative to the slot, value)`.
fn cut_slots(segs: &[(u64, u32)], bits: u32) -> Result<SlotCut, BuildError> {
    debug_assert!(segs.first().map(|s| s.0) == Some(0));
    let sub = bits - format::SLOT_BITS;
    let rel_mask = if sub == 64 {
        u64::MAX
    } else {
        (1u64 << sub) - 1
    };
    let mut slots = Vec::with_capacity(format::SLOTS + 1);
    let mut entries = Vec::with_capacity(segs.len() + format::SLOTS / 4);
    let too_many = || BuildError::Invalid("too many ranges".into());
    let mut i = 0usize; // segment containing the current slot's start
    for slot in 0..format::SLOTS as u64 {
        let start = slot << sub;
        while i + 1 < segs.len() && segs[i + 1].0 <= start {
            i += 1;
        }
        slots.push(u32::try_from(entries.len()).map_err(|_| too_many())?);
        entries.push((0, segs[i].1));
        let mut j = i + 1;
        while j < segs.len() && segs[j].0 >> sub == slot {
            entries.push((segs[j].0 & rel_mask, segs[j].1));
            j += 1;
        }
    }
    slots.push(u32::try_from(entries.len()).map_err(|_| too_many())?);
    Ok((slots, entries))
}

/// The IPv4 country ranges: `segs` (IPv4 segments with record references)
/// with each reference replaced by its record's two-letter code (`code_of`,
/// as `first | second << 8`, 0 for none or no data), neighbours with equal
/// codes merged, cut at slot boundaries. Entries are `start << 16 | code`.
fn country_ranges(
    segs: &[(u64, u32)],
    code_of: impl Fn(u32) -> u16,
) -> Result<(Vec<u32>, Vec<u32>), BuildError> {
    let mut by_code: Vec<(u64, u32)> = Vec::new();
    for &(k, r) in segs {
        let c = u32::from(code_of(r));
        if by_code.last().map(|l| l.1) != Some(c) {
            by_code.push((k, c));
        }
    }
    let (slots, entries) = cut_slots(&by_code, 32)?;
    Ok((
        slots,
        entries
            .into_iter()
            .map(|(k, c)| ((k as u32) << 16) | c)
            .collect(),
    ))
}

/// Builds index nodes over one slot's relative keys.
struct IndexBuilder<'k> {
    keys: &'k [u64],
    recs: &'k [u32],
    /// Global index of `keys[0]`.
    first: usize,
    target: f64,
    cmax: usize,
    buckets: &'k mut Vec<u32>,
}

impl IndexBuilder<'_> {
    /// Sets `out[j]` for a sub-span starting at `sub_start`, `2^sub` wide,
    /// in which `count` keys lie after the start.
    fn fill_entry(
        &mut self,
        out: &mut [u32],
        j: usize,
        sub_start: u64,
        sub: u32,
        count: usize,
    ) -> Result<(), BuildError> {
        let range = self.keys.partition_point(|&x| x <= sub_start) - 1;
        let rec = self.recs[range];
        if count > self.cmax && sub > 0 {
            let need = ((count as f64) / self.target).log2().ceil().max(1.0) as u32;
            let k = need.min(format::MAX_K).min(sub);
            let base = self.buckets.len();
            let base32 = u32::try_from(base)
                .ok()
                .filter(|_| base + (1 << k) <= format::NODE_BASE_MASK as usize + 1)
                .ok_or_else(|| BuildError::Invalid("index too large".into()))?;
            out[j] = format::NODE | (k << format::NODE_K_SHIFT) | base32;
            self.buckets.resize(base + (1 << k), 0);
            let mut node = vec![0u32; 1 << k];
            self.fill(&mut node, sub_start, sub, k)?;
            self.buckets[base..base + (1 << k)].copy_from_slice(&node);
        } else if count == 0 && rec & !format::LEAF_MASK == 0 {
            out[j] = format::DIRECT | rec;
        } else {
            out[j] = (self.first + range) as u32;
        }
        Ok(())
    }

    /// Fills the `2^k` entries of a node whose span starts at `start` and is
    /// `2^span` addresses wide.
    fn fill(&mut self, out: &mut [u32], start: u64, span: u32, k: u32) -> Result<(), BuildError> {
        let sub = span - k;
        let mut p = self.keys.partition_point(|&x| x <= start);
        for j in 0..out.len() {
            let sub_start = start + ((j as u64) << sub);
            while p < self.keys.len() && self.keys[p] <= sub_start {
                p += 1;
            }
            let sub_last = sub_start + ((1u128 << sub) - 1) as u64;
            let mut q = p;
            while q < self.keys.len() && self.keys[q] <= sub_last {
                q += 1;
            }
            self.fill_entry(out, j, sub_start, sub, q - p)?;
            p = q;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: u128, end: u128, rec: u32) -> Interval {
        Interval { start, end, rec }
    }

    #[test]
    fn cover_fills_gaps_and_coalesces() {
        let refs = [2, 2, 5];
        let ivs = [iv(10, 19, 0), iv(20, 29, 1), iv(40, 49, 2)];
        let segs = cover(&ivs, &refs, 99).unwrap();
        assert_eq!(segs, vec![(0, 0), (10, 2), (30, 0), (40, 5), (50, 0)]);
        // Full coverage up to the maximum leaves no trailing gap.
        let segs = cover(&[iv(0, 99, 0)], &refs, 99).unwrap();
        assert_eq!(segs, vec![(0, 2)]);
        // Overlap is refused.
        assert!(cover(&[iv(0, 10, 0), iv(5, 20, 1)], &refs, 99).is_err());
    }

    #[test]
    fn v6_split_blocks() {
        let refs = [7, 8];
        let b = |hi: u128, lo: u128| (hi << 64) | lo;
        let ivs = [
            iv(b(1, 0), b(1, 0xff), 0),                 // inside block 1
            iv(b(1, 0x100), b(3, u64::MAX as u128), 1), // rest of 1, blocks 2-3
        ];
        let v6 = segments_v6(&ivs, &refs).unwrap();
        assert_eq!(
            v6.high,
            vec![(0, 0), (1, format::REC_SPLIT), (2, 8), (4, 0)]
        );
        assert_eq!(v6.splits, vec![0, 2]);
        assert_eq!(v6.low, vec![(0, 7), (0x100, 8)]);
    }

    /// Descends the index like the reader: the leaf for a global key.
    fn descend(f: &FamilyOut, key: u64, bits: u32) -> u32 {
        let mut shift = bits - format::SLOT_BITS;
        let mut e = f.root[(key >> shift) as usize];
        while e & format::NODE != 0 {
            let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
            shift -= k;
            let base = (e & format::NODE_BASE_MASK) as usize;
            e = f.buckets[base + ((key >> shift) & ((1 << k) - 1)) as usize];
        }
        e
    }

    #[test]
    fn index_leaves_start_scans_in_the_right_place() {
        // Clustered keys: a dense run, a sparse tail, and the top of the space.
        let mut keys: Vec<u64> = vec![0];
        keys.extend((0..5000u64).map(|i| 0x1234_0000 + i * 3));
        keys.extend((0..300u64).map(|i| 0x8000_0000 + i * 7_919_111));
        keys.push(u64::from(u32::MAX));
        keys.sort();
        keys.dedup();
        let segs: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, 2 + i as u32 * 2))
            .collect();
        let f = layout_family(&segs, 32, 2.0, V4_SCAN).unwrap();
        // Every slot starts at relative key 0.
        for s in 0..format::SLOTS {
            assert_eq!(f.entries[f.slots[s] as usize].0, 0);
            assert!(f.slots[s] < f.slots[s + 1]);
        }
        let probes = keys
            .iter()
            .flat_map(|&k| [k.saturating_sub(1), k, k + 1])
            .chain((0..u32::MAX as u64).step_by(9_999_991));
        let mut direct = 0;
        for a in probes.filter(|a| *a <= u64::from(u32::MAX)) {
            let e = descend(&f, a, 32);
            let want = segs[segs.partition_point(|s| s.0 <= a) - 1].1;
            if e & format::DIRECT != 0 {
                assert_eq!(e & format::LEAF_MASK, want, "a={a:#x}");
                direct += 1;
                continue;
            }
            // Scan within the slot from the leaf's entry.
            let slot = (a >> 16) as usize;
            let end = f.slots[slot + 1] as usize;
            let mut i = e as usize;
            let rel = a & 0xFFFF;
            let mut steps = 0;
            while i + 1 < end && f.entries[i + 1].0 <= rel {
                i += 1;
                steps += 1;
            }
            assert_eq!(f.entries[i].1, want, "a={a:#x}");
            assert!(steps <= V4_SCAN, "a={a:#x} steps={steps}");
        }
        assert!(direct > 100, "{direct} direct leaves");
        assert!(
            f.buckets.len() < keys.len() * 2,
            "{} entries for {} keys",
            f.buckets.len(),
            keys.len()
        );
    }
}
