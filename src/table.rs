//! The zero-copy table reader.
//!
//! [`Table`] reads a table from any byte buffer: a `Vec<u8>` in tests, a
//! memory map in production ([`Table::open_file`]). Opening checks the header,
//! the checksum and every offset and index once, so that lookups afterwards
//! never read out of bounds and never panic, whatever the bytes are.
//! [`Table::verify`] walks the whole file for deeper consistency.
//!
//! ```
//! # use ipgeo::build::{build, BuildOptions};
//! # use ipgeo::field::{Field, Value};
//! # use ipgeo::source::{Interval, Source, SourceRecord};
//! use ipgeo::table::Table;
//! # let mut rec = SourceRecord::default();
//! # rec.push(Field::CountryCode, None, Value::Str("JP".into()));
//! # rec.push(Field::City, Some(0), Value::Str("Tokyo".into()));
//! # let src = Source { records: vec![rec],
//! #     v6: vec![Interval { start: 0x2001_0218 << 96, end: (0x2001_0219 << 96) - 1, rec: 0 }],
//! #     ..Source::default() };
//! # let (bytes, _) = build(&[src], &BuildOptions::default()).unwrap();
//! let table = Table::open(bytes)?;
//! let hit = table.lookup("2001:218::1".parse().unwrap()).expect("covered");
//! assert_eq!(hit.network.to_string(), "2001:218::/32");
//! assert_eq!(hit.record.get_str(Field::City), Some("Tokyo"));
//! assert!(table.lookup("2001:db8::1".parse().unwrap()).is_none());
//! # Ok::<(), ipgeo::table::TableError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::field::{Field, Value};
use crate::format::{self, read_u128, read_u32, read_u64, ColumnType, Kind};

/// Why a table was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// The bytes are not a table of a version this reader understands, or are
    /// inconsistent. The message names the section and offset.
    Corrupt(String),
    /// The file could not be read.
    Io(String),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Corrupt(m) => write!(f, "invalid table: {m}"),
            TableError::Io(m) => write!(f, "cannot read table: {m}"),
        }
    }
}

impl std::error::Error for TableError {}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, TableError> {
    Err(TableError::Corrupt(msg.into()))
}

/// Options for [`Table::open_with`].
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// Check the whole-file checksum (default `true`). Fuzzers turn it off to
    /// reach the structural checks; the structural checks alone still make
    /// every lookup memory-safe and panic-free.
    pub checksum: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { checksum: true }
    }
}

/// A column of the table: a field, in one language for names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The field, or `None` for a field id this reader does not know.
    pub field: Option<Field>,
    /// The raw field id.
    pub field_id: u8,
    /// Index into [`Meta::languages`] for localised names.
    pub lang: Option<u8>,
    /// How values are stored.
    pub ty: ColumnType,
}

/// Build metadata stored in the table.
#[derive(Clone, Debug)]
pub struct Meta {
    /// The whole metadata object as stored.
    pub json: serde_json::Value,
    /// The table's languages, primary first.
    pub languages: Vec<String>,
    /// Build time, Unix seconds.
    pub build_time: u64,
    /// The stored checksum.
    pub checksum: u64,
    /// File size in bytes.
    pub size: u64,
}

/// A network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    /// The first address of the network.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Network {
    /// The longest text of a network (`ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128`).
    pub const MAX_TEXT: usize = 43;

    /// Writes the network's text, as `Display` gives it, to the front of
    /// `out`. Returns its length, or `None` if `out` is too short
    /// ([`Network::MAX_TEXT`] bytes always suffice). IPv4 is written digit by
    /// digit: this runs once per API answer, where `core::fmt` cost more
    /// than the lookup's own arithmetic.
    pub fn write_text(&self, out: &mut [u8]) -> Option<usize> {
        let mut n = match self.addr {
            IpAddr::V4(a) => {
                let mut n = 0;
                for (i, octet) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        *out.get_mut(n)? = b'.';
                        n += 1;
                    }
                    n += write_u8(out.get_mut(n..)?, octet)?;
                }
                n
            }
            IpAddr::V6(a) => {
                let mut cur = std::io::Cursor::new(&mut *out);
                std::io::Write::write_fmt(&mut cur, format_args!("{a}")).ok()?;
                cur.position() as usize
            }
        };
        *out.get_mut(n)? = b'/';
        n += 1;
        n += write_u8(out.get_mut(n..)?, self.prefix)?;
        Some(n)
    }
}

/// Writes `v` in decimal to the front of `out`; returns the digit count.
fn write_u8(out: &mut [u8], v: u8) -> Option<usize> {
    let digits = if v >= 100 {
        3
    } else if v >= 10 {
        2
    } else {
        1
    };
    let out = out.get_mut(..digits)?;
    let mut v = v;
    for d in out.iter_mut().rev() {
        *d = b'0' + v % 10;
        v /= 10;
    }
    Some(digits)
}

/// The answer to a lookup.
#[derive(Clone, Copy, Debug)]
pub struct Hit<'t> {
    /// The location record.
    pub record: Record<'t>,
    /// The largest network that contains the address and lies wholly within
    /// the table range that answered (ranges are coalesced, so this can be
    /// larger than the source's network).
    pub network: Network,
}

/// A borrowed value of a record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'t> {
    /// A string.
    Str(&'t str),
    /// An unsigned integer.
    U32(u32),
    /// A single-precision float.
    F32(f32),
    /// A double-precision float.
    F64(f64),
}

impl ValueRef<'_> {
    /// The owned value.
    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Str(s) => Value::Str(s.into()),
            ValueRef::U32(v) => Value::U32(v),
            ValueRef::F32(v) => Value::F32(v),
            ValueRef::F64(v) => Value::F64(v),
        }
    }

    /// The value as JSON (floats as the shortest text that reads back the
    /// same, in their stored precision).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            ValueRef::Str(s) => serde_json::Value::from(s),
            ValueRef::U32(v) => serde_json::Value::from(v),
            ValueRef::F32(v) => v
                .to_string()
                .parse::<serde_json::Number>()
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            ValueRef::F64(v) => serde_json::Value::from(v),
        }
    }
}

/// Byte range of a section.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sec {
    pub off: usize,
    pub len: usize,
}

impl Sec {
    fn end(self) -> usize {
        self.off + self.len
    }
}

/// One family's lookup structure.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Family {
    /// Offset of the root node ([`format::SLOTS`] entries).
    pub root: usize,
    /// Offset of the slot directory ([`format::SLOTS`] + 1 entries).
    pub slots: usize,
    pub buckets: Sec,
    pub ranges: Sec,
    /// Number of range entries.
    pub n: usize,
}

/// A validated table over a byte buffer.
pub struct Table<S: AsRef<[u8]>> {
    buf: S,
    meta: Meta,
    columns: Vec<Column>,
    /// Per field id: column indexes in language preference order.
    field_cols: Vec<Vec<u8>>,
    /// Presence bits of f64 columns (two slots each).
    wide_mask: u64,
    strings: Sec,
    records: Sec,
    v4: Family,
    v6: Family,
    splits: Sec,
    low: Sec,
    aliases: Vec<(u128, u8)>,
    /// Country directory: (first record reference of a run, code).
    countries: Vec<(u32, [u8; 2])>,
    /// IPv4 country ranges: offset of the slot directory, and the entries.
    v4_countries: Option<(usize, Sec)>,
    sections: Vec<(Kind, Sec)>,
}

impl<S: AsRef<[u8]>> fmt::Debug for Table<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("size", &self.meta.size)
            .field("columns", &self.columns.len())
            .field("v4_ranges", &self.v4.n)
            .field("v6_ranges", &self.v6.n)
            .finish()
    }
}

/// A table backed by a read-only memory map of a file.
pub type MappedTable = Table<memmap2::Mmap>;

impl MappedTable {
    /// Maps `path` read-only and opens it.
    ///
    /// The file must not be modified in place while mapped: truncating a
    /// mapped file makes later reads fault (SIGBUS). Writers must replace
    /// tables with `rename()`, as [`crate::build::write_atomic`] does; the
    /// nginx module goes further and maps a private snapshot.
    ///
    /// # Errors
    /// [`TableError::Io`] if the file cannot be mapped, otherwise as
    /// [`Table::open`].
    pub fn open_file(path: impl AsRef<Path>) -> Result<MappedTable, TableError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| TableError::Io(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only. The caller is told (above) that the
        // file must not be truncated or rewritten while mapped; every read of
        // the map is bounds-checked against the length fixed at open.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        // Ask for huge pages (best effort; the default THP setting,
        // `madvise`, wants the advice). Pages that fault in from disk come
        // as 2 MiB folios and are mapped whole, where the page cache does
        // not already hold them as small pages. Measured on batched IPv6
        // lookups: about 5 % faster with the whole table mapped so.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Table::open(map).map_err(|e| match e {
            TableError::Corrupt(m) => TableError::Corrupt(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

impl<S: AsRef<[u8]>> Table<S> {
    /// Opens a table, checking header, checksum, offsets and indexes.
    ///
    /// # Errors
    /// [`TableError::Corrupt`] naming the section and offset of the first
    /// problem found.
    pub fn open(buf: S) -> Result<Self, TableError> {
        Self::open_with(buf, OpenOptions::default())
    }

    /// Opens a table with options.
    ///
    /// # Errors
    /// As [`Table::open`].
    pub fn open_with(buf: S, opts: OpenOptions) -> Result<Self, TableError> {
        let b = buf.as_ref();
        if b.len() < format::HEADER_SIZE {
            return corrupt(format!(
                "file is {} bytes, shorter than the {}-byte header",
                b.len(),
                format::HEADER_SIZE
            ));
        }
        if b[..8] != format::MAGIC {
            return corrupt("not an ipgeo table (bad magic at offset 0)");
        }
        let u32at = |off| read_u32(b, off).unwrap_or(0);
        let u64at = |off| read_u64(b, off).unwrap_or(0);
        let version = u32at(format::hdr::VERSION);
        if version != format::VERSION {
            return corrupt(format!(
                "format version {version} is not supported (this reader reads version {})",
                format::VERSION
            ));
        }
        match u32at(format::hdr::ENDIAN) {
            format::ENDIAN_CHECK => {}
            v if v == format::ENDIAN_CHECK.swap_bytes() => {
                return corrupt("table was written big-endian; tables are little-endian")
            }
            v => return corrupt(format!("bad endianness marker {v:#010x} at offset 12")),
        }
        let size = u64at(format::hdr::FILE_SIZE);
        if size != b.len() as u64 {
            return corrupt(format!(
                "header says the file is {size} bytes but it is {} (truncated or extended)",
                b.len()
            ));
        }
        let checksum = u64at(format::hdr::CHECKSUM);
        if opts.checksum {
            let actual = crate::build::writer::checksum(b);
            if actual != checksum {
                return corrupt(format!(
                    "checksum mismatch: header has {checksum:#018x}, content hashes to {actual:#018x}"
                ));
            }
        }
        if u32at(format::hdr::HEADER_SIZE) as usize != format::HEADER_SIZE {
            return corrupt("unexpected header size at offset 32");
        }
        let count = u32at(format::hdr::SECTION_COUNT);
        if count > format::MAX_SECTIONS {
            return corrupt(format!(
                "{count} sections (at most {})",
                format::MAX_SECTIONS
            ));
        }
        let dir = u64at(format::hdr::DIR_OFFSET);
        let dir_end = (count as u64)
            .checked_mul(format::DIR_ENTRY_SIZE as u64)
            .and_then(|n| n.checked_add(dir))
            .filter(|e| *e <= b.len() as u64 && dir >= format::HEADER_SIZE as u64);
        if dir_end.is_none() {
            return corrupt(format!(
                "section directory at offset {dir} is out of bounds"
            ));
        }
        let mut sections: Vec<(Kind, Sec)> = Vec::new();
        for i in 0..count as usize {
            let e = dir as usize + i * format::DIR_ENTRY_SIZE;
            let raw_kind = u32at(e);
            let off = u64at(e + 8);
            let len = u64at(e + 16);
            let n = u64at(e + 24);
            let Some(kind) = Kind::from_u32(raw_kind) else {
                continue; // unknown sections are ignored
            };
            let what = format!("section {} (directory entry at offset {e})", kind.name());
            let end = off.checked_add(len);
            if off % format::ALIGN as u64 != 0 || end.is_none_or(|end| end > b.len() as u64) {
                return corrupt(format!(
                    "{what}: offset {off} length {len} is out of bounds or unaligned"
                ));
            }
            if len % kind.elem_size() as u64 != 0 || len / kind.elem_size() as u64 != n {
                return corrupt(format!("{what}: length {len} does not hold {n} entries"));
            }
            if sections.iter().any(|(k, _)| *k == kind) {
                return corrupt(format!("{what}: duplicate section"));
            }
            sections.push((
                kind,
                Sec {
                    off: off as usize,
                    len: len as usize,
                },
            ));
        }
        let get = |kind: Kind| -> Result<Sec, TableError> {
            sections
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, s)| *s)
                .ok_or_else(|| TableError::Corrupt(format!("section {} is missing", kind.name())))
        };

        // Metadata.
        let meta_sec = get(Kind::Meta)?;
        let json: serde_json::Value = serde_json::from_slice(&b[meta_sec.off..meta_sec.end()])
            .map_err(|e| {
                TableError::Corrupt(format!("section meta at offset {}: {e}", meta_sec.off))
            })?;
        let languages: Vec<String> = match json.get("languages").and_then(|l| l.as_array()) {
            Some(a) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    TableError::Corrupt("section meta: languages must be strings".into())
                })?,
            None => return corrupt("section meta: no languages"),
        };
        if languages.is_empty() || languages.len() > 250 {
            return corrupt("section meta: between 1 and 250 languages are needed");
        }
        let meta = Meta {
            build_time: u64at(format::hdr::BUILD_TIME),
            json,
            languages,
            checksum,
            size,
        };

        // Columns.
        let col_sec = get(Kind::Columns)?;
        let mut columns = Vec::new();
        let mut wide_mask = 0u64;
        for i in 0..col_sec.len / format::COLUMN_ENTRY {
            let e = col_sec.off + i * format::COLUMN_ENTRY;
            let (fid, lang, ty, slots) = (b[e], b[e + 1], b[e + 2], b[e + 3]);
            let at = format!("section columns: column {i} at offset {e}");
            let Some(ty) = ColumnType::from_u8(ty) else {
                return corrupt(format!("{at}: unknown type {ty}"));
            };
            if usize::from(slots) != ty.slots() {
                return corrupt(format!("{at}: {slots} slots for type {ty:?}"));
            }
            let lang = if lang == format::NO_LANG {
                None
            } else {
                Some(lang)
            };
            if lang.is_some_and(|l| usize::from(l) >= meta.languages.len()) {
                return corrupt(format!("{at}: language index out of range"));
            }
            if i >= format::MAX_COLUMNS {
                return corrupt(format!("{at}: more than {} columns", format::MAX_COLUMNS));
            }
            if ty == ColumnType::F64 {
                wide_mask |= 1 << i;
            }
            columns.push(Column {
                field: Field::from_id(fid),
                field_id: fid,
                lang,
                ty,
            });
        }
        // Per field: columns in language preference order (untagged first).
        let mut field_cols = vec![Vec::new(); Field::ALL.len()];
        for (f, cols) in field_cols.iter_mut().enumerate() {
            let mut c: Vec<(u8, u8)> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| usize::from(c.field_id) == f)
                .map(|(i, c)| (c.lang.map_or(0, |l| l + 1), i as u8))
                .collect();
            c.sort();
            *cols = c.into_iter().map(|(_, i)| i).collect();
        }

        let strings = get(Kind::Strings)?;
        let records = get(Kind::Records)?;
        if records.len < 8 {
            return corrupt("section records: shorter than its 8-byte preamble");
        }
        let splits = get(Kind::V6Splits)?;
        let low = get(Kind::V6Low)?;
        let mut t = Table {
            buf,
            meta,
            columns,
            field_cols,
            wide_mask,
            strings,
            records,
            v4: Family::default(),
            v6: Family::default(),
            splits,
            low,
            aliases: Vec::new(),
            countries: Vec::new(),
            v4_countries: None,
            sections: Vec::new(),
        };
        t.v4 = t.check_family(
            get(Kind::V4Slots)?,
            get(Kind::V4Root)?,
            get(Kind::V4Buckets)?,
            get(Kind::V4Ranges)?,
            false,
        )?;
        t.v6 = t.check_family(
            get(Kind::V6Slots)?,
            get(Kind::V6Root)?,
            get(Kind::V6Buckets)?,
            get(Kind::V6Ranges)?,
            true,
        )?;
        t.check_splits()?;
        let al = get(Kind::Aliases)?;
        let b = t.buf.as_ref();
        for i in 0..al.len / format::ALIAS_ENTRY {
            let e = al.off + i * format::ALIAS_ENTRY;
            let prefix = read_u128(b, e).unwrap_or(0);
            let len = b[e + 16];
            if len == 0 || len > 96 || prefix & (u128::MAX >> len) != 0 {
                return corrupt(format!(
                    "section aliases: entry {i} at offset {e} is not a prefix of length 1..=96"
                ));
            }
            t.aliases.push((prefix, len));
        }
        if let Ok(cs) = get(Kind::Countries) {
            let b = t.buf.as_ref();
            for i in 0..cs.len / format::COUNTRY_ENTRY {
                let e = cs.off + i * format::COUNTRY_ENTRY;
                let r = read_u32(b, e).unwrap_or(0);
                let cc = [b[e + 4], b[e + 5]];
                if !t.rec_in_bounds(r)
                    || r == format::REC_NONE
                    || t.countries.last().is_some_and(|l| l.0 >= r)
                {
                    return corrupt(format!(
                        "section countries: entry {i} at offset {e} is out of order or range"
                    ));
                }
                t.countries.push((r, cc));
            }
        }
        match (get(Kind::V4CountrySlots), get(Kind::V4Countries)) {
            (Ok(slots), Ok(entries)) => {
                t.check_country_ranges(slots, entries)?;
                t.v4_countries = Some((slots.off, entries));
            }
            (Err(_), Err(_)) => {}
            _ => {
                return corrupt(
                    "sections v4_country_slots and v4_countries: one is present without the other",
                )
            }
        }
        t.sections = sections;
        Ok(t)
    }

    /// Checks one family's slots, root, buckets and ranges.
    fn check_family(
        &self,
        slots: Sec,
        root: Sec,
        buckets: Sec,
        ranges: Sec,
        v6: bool,
    ) -> Result<Family, TableError> {
        let b = self.buf.as_ref();
        let name = if v6 { "v6" } else { "v4" };
        let entry = if v6 {
            format::V6_ENTRY
        } else {
            format::V4_ENTRY
        };
        let n = ranges.len / entry;
        if root.len != format::SLOTS * 4 {
            return corrupt(format!(
                "section {name}_root at offset {}: wrong size {}",
                root.off, root.len
            ));
        }
        let f = Family {
            root: root.off,
            slots: slots.off,
            buckets,
            ranges,
            n,
        };
        let nsplits = (self.splits.len / 4).saturating_sub(1);
        self.check_slotted(
            slots,
            (&format!("{name}_slots"), &format!("{name}_ranges"), "ranges"),
            (ranges.off, entry, n),
            |i| self.key(&f, v6, i),
            |i| {
                let r = self.rec(&f, v6, i).unwrap_or(u32::MAX);
                let ok = if v6 && r & format::REC_SPLIT != 0 {
                    ((r & !format::REC_SPLIT) as usize) < nsplits
                } else {
                    self.rec_in_bounds(r)
                };
                if ok {
                    return Ok(());
                }
                corrupt(format!(
                    "section {name}_ranges: entry {i} at offset {} refers to record {r:#x} outside the records",
                    ranges.off + i * entry
                ))
            },
        )?;
        // Every index entry: a leaf names a range or a record; a node's
        // entries lie inside the buckets section. (Lookups also stop when a
        // node's k exceeds the bits left, so a cyclic index cannot loop.)
        let nb = buckets.len / 4;
        let check = |off: usize, what: &str, i: usize| -> Result<(), TableError> {
            let e = read_u32(b, off).unwrap_or(u32::MAX);
            let ok = if e & format::NODE != 0 {
                let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
                let base = (e & format::NODE_BASE_MASK) as usize;
                (1..=format::MAX_K).contains(&k) && base + (1usize << k) <= nb
            } else if e & format::DIRECT != 0 {
                self.rec_in_bounds(e & format::LEAF_MASK)
            } else {
                (e as usize) < n
            };
            if ok {
                Ok(())
            } else {
                corrupt(format!(
                    "section {name}_{what}: entry {i} at offset {off} ({e:#010x}) points outside the index or ranges"
                ))
            }
        };
        for i in 0..format::SLOTS {
            check(root.off + i * 4, "root", i)?;
        }
        for i in 0..nb {
            check(buckets.off + i * 4, "buckets", i)?;
        }
        Ok(f)
    }

    /// Checks the IPv4 country ranges: a slot directory that spans the
    /// entries, and within each slot keys that start at 0 and rise.
    fn check_country_ranges(&self, slots: Sec, entries: Sec) -> Result<(), TableError> {
        let b = self.buf.as_ref();
        self.check_slotted(
            slots,
            ("v4_country_slots", "v4_countries", "entries"),
            (entries.off, 4, entries.len / 4),
            |i| read_u32(b, entries.off + i * 4).map(|e| u64::from(e >> 16)),
            |_| Ok(()),
        )
    }

    /// Checks a slot directory (`SLOTS + 1` `u32`, the first entry of each
    /// slot, then the count) over `n` entries of `size` bytes at `off`: it
    /// spans them, no slot is empty, and within each slot `key(i)` starts at
    /// 0 and rises strictly; `each(i)` checks the rest of an entry. `names`:
    /// the directory's section, the entries' section, and what they are.
    fn check_slotted(
        &self,
        slots: Sec,
        names: (&str, &str, &str),
        (off, size, n): (usize, usize, usize),
        key: impl Fn(usize) -> Option<u64>,
        mut each: impl FnMut(usize) -> Result<(), TableError>,
    ) -> Result<(), TableError> {
        let b = self.buf.as_ref();
        let (dir, entries, what) = names;
        if slots.len != (format::SLOTS + 1) * 4 {
            return corrupt(format!(
                "section {dir} at offset {}: wrong size {}",
                slots.off, slots.len
            ));
        }
        let slot_at = |s: usize| read_u32(b, slots.off + s * 4).unwrap_or(u32::MAX) as usize;
        if slot_at(0) != 0 || slot_at(format::SLOTS) != n {
            return corrupt(format!("section {dir}: does not span the {n} {what}"));
        }
        for slot in 0..format::SLOTS {
            let (first, end) = (slot_at(slot), slot_at(slot + 1));
            if first >= end || end > n {
                return corrupt(format!(
                    "section {dir}: slot {slot} is empty or out of order"
                ));
            }
            let mut prev = 0u64;
            for i in first..end {
                let k = key(i).unwrap_or(u64::MAX);
                if (i == first && k != 0) || (i > first && k <= prev) {
                    return corrupt(format!(
                        "section {entries}: entry {i} at offset {} is out of order in slot {slot}",
                        off + i * size
                    ));
                }
                prev = k;
                each(i)?;
            }
        }
        Ok(())
    }

    /// Whether `r` is "no data" or lies inside the records section.
    fn rec_in_bounds(&self, r: u32) -> bool {
        let off = r as usize * 4;
        r == format::REC_NONE || (off >= 8 && off + 8 <= self.records.len)
    }

    /// The relative key of range entry `i`.
    #[inline(always)]
    pub(crate) fn key(&self, f: &Family, v6: bool, i: usize) -> Option<u64> {
        let b = self.buf.as_ref();
        if v6 {
            format::read_u48(b, f.ranges.off + i * format::V6_ENTRY)
        } else {
            format::read_u16(b, f.ranges.off + i * format::V4_ENTRY).map(u64::from)
        }
    }

    /// The record (or split) reference of range entry `i`.
    #[inline(always)]
    pub(crate) fn rec(&self, f: &Family, v6: bool, i: usize) -> Option<u32> {
        let b = self.buf.as_ref();
        if v6 {
            read_u32(b, f.ranges.off + i * format::V6_ENTRY + 6)
        } else {
            read_u32(b, f.ranges.off + i * format::V4_ENTRY + 2)
        }
    }

    fn check_splits(&self) -> Result<(), TableError> {
        let b = self.buf.as_ref();
        let nlow = self.low.len / format::V6_LOW_ENTRY;
        let count = self.splits.len / 4;
        if count == 0 {
            return corrupt("section v6_splits: empty (it holds at least one offset)");
        }
        let at = |i: usize| read_u32(b, self.splits.off + i * 4).unwrap_or(u32::MAX) as usize;
        if at(0) != 0 || at(count - 1) != nlow {
            return corrupt("section v6_splits: offsets do not span v6_low");
        }
        for t in 0..count - 1 {
            let (s, e) = (at(t), at(t + 1));
            if s >= e || e > nlow {
                return corrupt(format!(
                    "section v6_splits: split {t} is empty or out of order"
                ));
            }
            let mut prev = 0u64;
            for i in s..e {
                let off = self.low.off + i * format::V6_LOW_ENTRY;
                let k = read_u64(b, off).unwrap_or(0);
                let r = read_u32(b, off + 8).unwrap_or(u32::MAX);
                if (i == s && k != 0) || (i > s && k <= prev) {
                    return corrupt(format!(
                        "section v6_low: entry {i} at offset {off} is out of order"
                    ));
                }
                if !(r == format::REC_NONE
                    || (r as usize * 4 + 8 <= self.records.len && r as usize * 4 >= 8))
                {
                    return corrupt(format!(
                        "section v6_low: entry {i} at offset {off} refers outside the records"
                    ));
                }
                prev = k;
            }
        }
        Ok(())
    }

    /// The underlying bytes.
    pub fn bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Build metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The table's columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Sections and their sizes, in file order.
    pub fn section_sizes(&self) -> Vec<(&'static str, usize)> {
        self.sections
            .iter()
            .map(|(k, s)| (k.name(), s.len))
            .collect()
    }

    /// Number of IPv4 and IPv6 range entries.
    pub fn range_counts(&self) -> (usize, usize) {
        (self.v4.n, self.v6.n)
    }

    /// Looks up an address. `None` if the table has no data for it.
    /// IPv4-mapped IPv6 addresses (and any alias prefix the table carries)
    /// are answered from the IPv4 data.
    pub fn lookup(&self, ip: IpAddr) -> Option<Hit<'_>> {
        match ip {
            IpAddr::V4(v4) => self.lookup_v4(u32::from(v4)),
            IpAddr::V6(v6) => self.lookup_v6(u128::from(v6)),
        }
    }

    /// Looks up an IPv4 address given as an integer.
    pub fn lookup_v4(&self, ip: u32) -> Option<Hit<'_>> {
        let (r, network) = self.locate_v4(ip)?;
        Some(Hit {
            record: self.record(r)?,
            network,
        })
    }

    /// Looks up an IPv6 address given as an integer.
    pub fn lookup_v6(&self, ip: u128) -> Option<Hit<'_>> {
        let (r, network) = self.locate_v6(ip)?;
        Some(Hit {
            record: self.record(r)?,
            network,
        })
    }

    /// The record reference and the matched network for an address, as
    /// [`Table::lookup`] gives them, without reading the record: the nginx
    /// module's path for callers that cache by reference.
    pub fn locate(&self, ip: IpAddr) -> Option<(u32, Network)> {
        match ip {
            IpAddr::V4(v4) => self.locate_v4(u32::from(v4)),
            IpAddr::V6(v6) => self.locate_v6(u128::from(v6)),
        }
    }

    /// [`Table::locate`] for an IPv4 address given as an integer.
    pub fn locate_v4(&self, ip: u32) -> Option<(u32, Network)> {
        // One descent for the record and the network (as find_v4_ref, but
        // keeping the range entry, which the network needs even where the
        // leaf holds the record directly).
        let key = u64::from(ip);
        let slot = self.prefetch_range_guess::<false>(key)?;
        let leaf = self.descend(&self.v4, key, 32);
        let i = self.entry_in::<false>(leaf, key, slot)?;
        let r = if leaf & format::DIRECT != 0 {
            leaf & format::LEAF_MASK
        } else {
            self.rec(&self.v4, false, i)?
        };
        if !self.is_record(r) {
            return None;
        }
        let prefix = self.block_prefix(false, key, i)?;
        Some((
            r,
            Network {
                addr: IpAddr::V4(Ipv4Addr::from(ip & mask32(prefix))),
                prefix,
            },
        ))
    }

    /// [`Table::locate`] for an IPv6 address given as an integer.
    pub fn locate_v6(&self, ip: u128) -> Option<(u32, Network)> {
        if let Some((prefix, len, v4)) = self.alias(ip) {
            let (r, net) = self.locate_v4(v4)?;
            let IpAddr::V4(a) = net.addr else {
                return None;
            };
            let shift = 96 - u32::from(len);
            return Some((
                r,
                Network {
                    addr: IpAddr::V6(Ipv6Addr::from(prefix | (u128::from(u32::from(a)) << shift))),
                    prefix: len + net.prefix,
                },
            ));
        }
        // One descent for the record and the network: the entry, and the
        // split /64 range where the entry is split.
        let hi64 = (ip >> 64) as u64;
        let leaf = self.descend(&self.v6, hi64, 64);
        let i = self.entry_from::<true>(leaf, hi64)?;
        let entry_rec = self.rec(&self.v6, true, i)?;
        let (r, prefix) = if entry_rec & format::REC_SPLIT != 0 {
            let (r, start, end) = self.split_find(entry_rec, ip)?;
            (r, cidr_within(ip, start, end, 128))
        } else {
            let r = if leaf & format::DIRECT != 0 {
                leaf & format::LEAF_MASK
            } else {
                entry_rec
            };
            (r, self.block_prefix(true, hi64, i)?)
        };
        if !self.is_record(r) {
            return None;
        }
        let mask = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(prefix))
        };
        Some((
            r,
            Network {
                addr: IpAddr::V6(Ipv6Addr::from(ip & mask)),
                prefix,
            },
        ))
    }

    /// Whether `r` names a record (not "no data", inside the section).
    #[inline(always)]
    fn is_record(&self, r: u32) -> bool {
        r != format::REC_NONE && self.rec_in_bounds(r)
    }

    /// The record reference for an IPv4 address, or [`format::REC_NONE`].
    /// This is the hot path the nginx module calls.
    #[inline]
    pub fn find_v4_ref(&self, ip: u32) -> u32 {
        let f = &self.v4;
        let key = u64::from(ip);
        let slot = self.prefetch_range_guess::<false>(key);
        let leaf = self.descend(f, key, 32);
        if leaf & format::DIRECT != 0 {
            return leaf & format::LEAF_MASK;
        }
        slot.and_then(|slot| self.entry_in::<false>(leaf, key, slot))
            .and_then(|i| self.rec(f, false, i))
            .unwrap_or(format::REC_NONE)
    }

    /// The record reference for an IPv6 address (aliases included), or
    /// [`format::REC_NONE`].
    #[inline]
    pub fn find_v6_ref(&self, ip: u128) -> u32 {
        if let Some((_, _, v4)) = self.alias(ip) {
            return self.find_v4_ref(v4);
        }
        let leaf = self.descend(&self.v6, (ip >> 64) as u64, 64);
        self.v6_ref_from(leaf, ip)
    }

    /// Finishes an IPv6 lookup from its index leaf (no aliases).
    #[inline(always)]
    fn v6_ref_from(&self, leaf: u32, ip: u128) -> u32 {
        if leaf & format::DIRECT != 0 {
            return leaf & format::LEAF_MASK;
        }
        let r = self
            .entry_from::<true>(leaf, (ip >> 64) as u64)
            .and_then(|i| self.rec(&self.v6, true, i))
            .unwrap_or(format::REC_NONE);
        if r & format::REC_SPLIT != 0 {
            return self
                .split_find(r, ip)
                .map_or(format::REC_NONE, |(r, _, _)| r);
        }
        r
    }

    /// Record references for many IPv4 addresses at once (`out[i]` for
    /// `ips[i]`, [`format::REC_NONE`] where there is no data).
    ///
    /// Answers are the same as [`Table::find_v4_ref`]'s, but independent
    /// lookups are interleaved: the throughput path for streams of
    /// addresses (see [`Table::refs_batch`]).
    ///
    /// # Panics
    /// If `out` is shorter than `ips`.
    pub fn find_v4_refs(&self, ips: &[u32], out: &mut [u32]) {
        self.refs_batch(
            ips,
            out,
            false,
            u64::from,
            |_| None,
            |leaf, key, _| {
                self.entry_from::<false>(leaf, key)
                    .and_then(|e| self.rec(&self.v4, false, e))
                    .unwrap_or(format::REC_NONE)
            },
        );
    }

    /// Record references for many IPv6 addresses at once; see
    /// [`Table::find_v4_refs`].
    ///
    /// # Panics
    /// If `out` is shorter than `ips`.
    pub fn find_v6_refs(&self, ips: &[u128], out: &mut [u32]) {
        self.refs_batch(
            ips,
            out,
            true,
            |ip| (ip >> 64) as u64,
            |ip| self.alias(ip).map(|(_, _, v4)| self.find_v4_ref(v4)),
            |leaf, _, ip| self.v6_ref_from(leaf, ip),
        );
    }

    /// The batch lookup of one family, as a ring of `LANES` lookups in
    /// flight. A step advances one lane by one memory level (an index
    /// entry, then the range entries) and prefetches what that lane reads
    /// next; a lane that finishes starts the next address at once. So
    /// every read was issued a whole turn of the ring earlier, however
    /// deep each lookup's path (IPv6 paths vary from 1 to 10 levels).
    ///
    /// `now(address)` answers an address outside the index (IPv6 aliases);
    /// `finish(leaf, key, address)` answers from a range leaf whose range
    /// entry and slot bounds were prefetched.
    #[inline(always)]
    fn refs_batch<T: Copy>(
        &self,
        ips: &[T],
        out: &mut [u32],
        v6: bool,
        key_of: impl Fn(T) -> u64,
        now: impl Fn(T) -> Option<u32>,
        finish: impl Fn(u32, u64, T) -> u32,
    ) {
        // Measured on random DB-IP addresses against the level-by-level
        // groups of 32 used before: IPv6 65 -> 51 ns; 24, 48 and 64 lanes
        // were no faster, 8, 16 and 128 slower.
        const LANES: usize = 32;
        const IDLE: usize = usize::MAX;
        assert!(out.len() >= ips.len(), "output shorter than input");
        let b = self.buf.as_ref();
        let (f, bits, entry) = if v6 {
            (&self.v6, 64, format::V6_ENTRY)
        } else {
            (&self.v4, 32, format::V4_ENTRY)
        };
        // Per lane: the address index (IDLE: none), the offset of the index
        // entry to read next (IDLE: the range leaf `leaf` is next), and the
        // key bits left below the current node.
        let mut idx = [IDLE; LANES];
        let mut at = [0usize; LANES];
        let mut shift = [0u32; LANES];
        let mut leaf = [0u32; LANES];
        let (mut next, mut live) = (0, 0);
        loop {
            for l in 0..LANES {
                // Advance lane `l` by one memory level. A lookup that ends
                // here makes room for the next address, whose root entry is
                // read at once (the root is small and usually cached).
                loop {
                    let mut i = idx[l];
                    if i == IDLE {
                        while next < ips.len() {
                            match now(ips[next]) {
                                Some(r) => out[next] = r,
                                None => break,
                            }
                            next += 1;
                        }
                        if next >= ips.len() {
                            break;
                        }
                        i = next;
                        next += 1;
                        live += 1;
                        idx[l] = i;
                        shift[l] = bits - format::SLOT_BITS;
                        at[l] = f.root + ((key_of(ips[i]) >> shift[l]) as usize) * 4;
                    } else if at[l] == IDLE {
                        // The range entry and slot bounds were prefetched.
                        out[i] = finish(leaf[l], key_of(ips[i]), ips[i]);
                        idx[l] = IDLE;
                        live -= 1;
                        continue;
                    }
                    let key = key_of(ips[i]);
                    let e = read_u32(b, at[l]).unwrap_or(0);
                    let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
                    if e & format::NODE != 0 && k != 0 && k <= shift[l] {
                        shift[l] -= k;
                        let base = (e & format::NODE_BASE_MASK) as usize;
                        let j = ((key >> shift[l]) & ((1 << k) - 1)) as usize;
                        at[l] = f.buckets.off + (base + j) * 4;
                        prefetch(b, at[l]);
                        break;
                    }
                    // A malformed node ends the descent with leaf 0, which
                    // the scan treats as "search the slot".
                    let e = if e & format::NODE == 0 { e } else { 0 };
                    if e & format::DIRECT != 0 {
                        out[i] = e & format::LEAF_MASK;
                        idx[l] = IDLE;
                        live -= 1;
                        continue;
                    }
                    // Both ends of the entry (it may straddle two lines); for
                    // IPv6 also the entries the scan reads next (measured:
                    // about 10 % faster).
                    let r = f.ranges.off + e as usize * entry;
                    prefetch(b, r);
                    prefetch(b, r + entry - 1);
                    if v6 {
                        prefetch(b, r + 4 * entry);
                    }
                    self.prefetch_slot(f, key, bits);
                    leaf[l] = e;
                    at[l] = IDLE;
                    break;
                }
            }
            if live == 0 && next >= ips.len() {
                break;
            }
        }
    }

    /// Whether the IPv6 address `ip` is answered from the IPv4 data (it lies
    /// in an alias prefix such as `::ffff:0:0/96`).
    pub fn is_alias(&self, ip: u128) -> bool {
        self.alias(ip).is_some()
    }

    /// The alias that covers `ip`: its prefix, length and the IPv4 address.
    #[inline]
    fn alias(&self, ip: u128) -> Option<(u128, u8, u32)> {
        for &(prefix, len) in &self.aliases {
            let shift = 128 - u32::from(len);
            if ip >> shift == prefix >> shift {
                return Some((prefix, len, (ip >> (96 - u32::from(len))) as u32));
            }
        }
        None
    }

    /// Descends a family's index to the leaf for `key` (of `bits` bits).
    /// A malformed node ends the descent with leaf 0, which the scan treats
    /// as "search the slot".
    #[inline(always)]
    fn descend(&self, f: &Family, key: u64, bits: u32) -> u32 {
        let b = self.buf.as_ref();
        let mut shift = bits - format::SLOT_BITS;
        let mut e = read_u32(b, f.root + ((key >> shift) as usize) * 4).unwrap_or(0);
        while e & format::NODE != 0 {
            let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
            if k == 0 || k > shift {
                return 0;
            }
            shift -= k;
            let base = (e & format::NODE_BASE_MASK) as usize;
            let j = ((key >> shift) & ((1 << k) - 1)) as usize;
            e = read_u32(b, f.buckets.off + (base + j) * 4).unwrap_or(0);
        }
        e
    }

    /// Starts loading the slot bounds of `key`, which the range search reads
    /// after the index descent: the two misses overlap instead of following
    /// each other.
    #[inline(always)]
    fn prefetch_slot(&self, f: &Family, key: u64, bits: u32) {
        let slot = (key >> (bits - format::SLOT_BITS)) as usize;
        prefetch(self.buf.as_ref(), f.slots + slot * 4);
    }

    /// The slot of `key`: its entries and the interpolated guess.
    #[inline(always)]
    fn slot_guess<const V6: bool>(&self, key: u64) -> Option<SlotGuess> {
        let (f, bits) = if V6 { (&self.v6, 64) } else { (&self.v4, 32) };
        let (first, end) = self.slot_bounds(f, key, bits)?;
        let sub = bits - format::SLOT_BITS;
        let at = guess(first, end, key & ((1u64 << sub) - 1), sub);
        Some(SlotGuess { first, end, at })
    }

    /// Reads the slot of `key` (the load of its bounds overlaps the index
    /// root's) and starts loading the range entry that linear interpolation
    /// inside the slot predicts. Where the prediction is on the right line,
    /// the range search after the descent reads memory that arrived during
    /// the descent's own miss, instead of waiting for a third one. The slot
    /// goes on to [`Table::entry_in`].
    #[inline(always)]
    fn prefetch_range_guess<const V6: bool>(&self, key: u64) -> Option<SlotGuess> {
        let slot = self.slot_guess::<V6>(key)?;
        let (f, size) = if V6 {
            (&self.v6, format::V6_ENTRY)
        } else {
            (&self.v4, format::V4_ENTRY)
        };
        prefetch(self.buf.as_ref(), f.ranges.off + slot.at * size);
        Some(slot)
    }

    /// The first and end entry of the slot holding `key`.
    #[inline(always)]
    pub(crate) fn slot_bounds(&self, f: &Family, key: u64, bits: u32) -> Option<(usize, usize)> {
        let b = self.buf.as_ref();
        let slot = (key >> (bits - format::SLOT_BITS)) as usize;
        let first = read_u32(b, f.slots + slot * 4)? as usize;
        let end = read_u32(b, f.slots + slot * 4 + 4)? as usize;
        Some((first, end))
    }

    /// The range entry containing `key`, scanning from the leaf's range (or,
    /// for a direct leaf or an index entry outside the slot, searching the
    /// slot).
    #[inline(always)]
    fn entry_from<const V6: bool>(&self, leaf: u32, key: u64) -> Option<usize> {
        self.entry_in::<V6>(leaf, key, self.slot_guess::<V6>(key)?)
    }

    /// [`Table::entry_from`] in the slot of `key`, already read.
    #[inline(always)]
    fn entry_in<const V6: bool>(&self, leaf: u32, key: u64, slot: SlotGuess) -> Option<usize> {
        let f = if V6 { &self.v6 } else { &self.v4 };
        let bits = if V6 { 64 } else { 32 };
        let rel = key & ((1u64 << (bits - format::SLOT_BITS)) - 1);
        let SlotGuess { first, end, at } = slot;
        let mut lo = leaf as usize;
        if leaf & format::DIRECT != 0 || lo < first || lo >= end {
            // No range named: start where interpolation points (the entry
            // prefetch_range_guess loaded), not at the slot's first entry,
            // which in a long slot is many lines away.
            lo = at;
        }
        scan(lo, first, end, |i| {
            self.key(f, V6, i).is_some_and(|k| k <= rel)
        })
    }

    /// The prefix length, in the family's key bits, of the largest aligned
    /// block that contains `key` and lies within the range of entry `i`
    /// (the entry that contains `key`), following the range into
    /// neighbouring slots. A block larger than a slot is made of whole
    /// slots, so it is grown by aligned halves of single-entry slots with
    /// the same reference: the work is bounded by the block's size in
    /// slots, not by the range's.
    fn block_prefix(&self, v6: bool, key: u64, i: usize) -> Option<u8> {
        let (f, bits) = if v6 { (&self.v6, 64) } else { (&self.v4, 32) };
        let sub = bits - format::SLOT_BITS;
        let rel_mask = (1u64 << sub) - 1;
        let (first, end) = self.slot_bounds(f, key, bits)?;
        if i != first || i + 1 != end {
            // The range does not cover the slot: the block lies inside it.
            let lo = self.key(f, v6, i)?;
            let hi = if i + 1 < end {
                self.key(f, v6, i + 1)?.checked_sub(1)?
            } else {
                rel_mask
            };
            let p = cidr_within(
                u128::from(key & rel_mask),
                u128::from(lo),
                u128::from(hi),
                sub,
            );
            return Some(format::SLOT_BITS as u8 + p);
        }
        // Slot `s` is one entry with reference `r` (its bounds are inside
        // the directory, which `open` checked).
        let r = self.rec(f, v6, i)?;
        let whole = |s: u64| {
            let (a, z) = self.slot_bounds(f, s << sub, bits).unwrap_or((0, 0));
            z == a + 1 && self.rec(f, v6, a) == Some(r)
        };
        let slot = key >> sub;
        let mut j = 0;
        while j < format::SLOT_BITS {
            let sibling = ((slot >> j) ^ 1) << j;
            if !(sibling..sibling + (1 << j)).all(whole) {
                break;
            }
            j += 1;
        }
        Some((format::SLOT_BITS - j) as u8)
    }

    /// For an address in a split /64: the record and range within the block.
    fn split_find(&self, r: u32, ip: u128) -> Option<(u32, u128, u128)> {
        let b = self.buf.as_ref();
        let t = (r & !format::REC_SPLIT) as usize;
        let s = read_u32(b, self.splits.off + t * 4)? as usize;
        let e = read_u32(b, self.splits.off + (t + 1) * 4)? as usize;
        let lo64 = ip as u64;
        let lkey = |i: usize| read_u64(b, self.low.off + i * format::V6_LOW_ENTRY);
        let i = search(s, e.checked_sub(1)?, |i| lkey(i).is_some_and(|k| k <= lo64))?;
        let rec = read_u32(b, self.low.off + i * format::V6_LOW_ENTRY + 8)?;
        let block = (ip >> 64) << 64;
        let start = block | u128::from(lkey(i)?);
        let end = if i + 1 < e {
            block | u128::from(lkey(i + 1)? - 1)
        } else {
            block | u128::from(u64::MAX)
        };
        Some((rec, start, end))
    }

    /// Diagnostics: whether the index answers `key` with a direct leaf.
    #[doc(hidden)]
    pub fn probe_direct(&self, v6: bool, key: u64) -> bool {
        let (f, bits) = if v6 { (&self.v6, 64) } else { (&self.v4, 32) };
        self.descend(f, key, bits) & format::DIRECT != 0
    }

    /// Diagnostics: for a key (IPv4 address, or the high 64 bits of an
    /// IPv6 address), the index depth and the number of range keys the scan
    /// passes (0 for a direct leaf).
    #[doc(hidden)]
    pub fn probe(&self, v6: bool, key: u64) -> (u32, usize) {
        let b = self.buf.as_ref();
        let (f, bits) = if v6 { (&self.v6, 64) } else { (&self.v4, 32) };
        let mut shift = bits - format::SLOT_BITS;
        let mut depth = 1;
        let mut e = read_u32(b, f.root + ((key >> shift) as usize) * 4).unwrap_or(0);
        while e & format::NODE != 0 {
            let k = (e >> format::NODE_K_SHIFT) & format::NODE_K_MASK;
            shift -= k;
            let base = (e & format::NODE_BASE_MASK) as usize;
            e = read_u32(
                b,
                f.buckets.off + (base + ((key >> shift) & ((1 << k) - 1)) as usize) * 4,
            )
            .unwrap_or(0);
            depth += 1;
        }
        if e & format::DIRECT != 0 {
            return (depth, 0);
        }
        let i = if v6 {
            self.entry_from::<true>(e, key)
        } else {
            self.entry_from::<false>(e, key)
        };
        (depth, i.unwrap_or(0).saturating_sub(e as usize))
    }

    /// The two-letter country code of record `r` from the country directory,
    /// without reading the record; `None` if the record has none, or the
    /// table has no directory ([`Table::has_country_directory`]).
    #[inline]
    pub fn country_of(&self, r: u32) -> Option<[u8; 2]> {
        country_in_runs(&self.countries, r)
    }

    /// Whether the table groups its records by country code.
    pub fn has_country_directory(&self) -> bool {
        !self.countries.is_empty()
    }

    /// The two-letter country code of record `r`: from the country
    /// directory, or from the record where the table has none.
    #[inline]
    pub fn country_of_ref(&self, r: u32) -> Option<[u8; 2]> {
        if r == format::REC_NONE {
            return None;
        }
        if self.has_country_directory() {
            return self.country_of(r);
        }
        self.record(r)?.country_code()
    }

    /// The two-letter country code for an address; `None` where the table
    /// has no data or the record no code. The same answer as the record's
    /// `country_code`, but cheaper: IPv4 addresses (and IPv6 addresses
    /// answered from IPv4 data) are looked up in the compact country ranges
    /// (a few MB, which stay in the CPU caches) where the table has them,
    /// and no record is read.
    #[inline]
    pub fn country_code(&self, ip: IpAddr) -> Option<[u8; 2]> {
        match ip {
            IpAddr::V4(v4) => self.country_code_v4(u32::from(v4)),
            IpAddr::V6(v6) => self.country_code_v6(u128::from(v6)),
        }
    }

    /// [`Table::country_code`] for an IPv4 address given as an integer.
    #[inline]
    pub fn country_code_v4(&self, ip: u32) -> Option<[u8; 2]> {
        let Some((slots, entries)) = self.v4_countries else {
            return self.country_of_ref(self.find_v4_ref(ip));
        };
        let b = self.buf.as_ref();
        let slot = (ip >> 16) as usize;
        let mut lo = read_u32(b, slots + slot * 4)? as usize;
        let end = read_u32(b, slots + slot * 4 + 4)? as usize;
        // The last entry whose start is not above the address; `open`
        // checked that the slot's first entry starts at 0.
        let key = (ip << 16) | 0xFFFF;
        let mut len = end.checked_sub(lo)?;
        while len > 1 {
            let half = len / 2;
            if read_u32(b, entries.off + (lo + half) * 4)? <= key {
                lo += half;
            }
            len -= half;
        }
        let e = read_u32(b, entries.off + lo * 4)?;
        let [c0, c1, ..] = e.to_le_bytes();
        (c0 != 0 && c1 != 0).then_some([c0, c1])
    }

    /// [`Table::country_code`] for an IPv6 address given as an integer.
    #[inline]
    pub fn country_code_v6(&self, ip: u128) -> Option<[u8; 2]> {
        if let Some((_, _, v4)) = self.alias(ip) {
            return self.country_code_v4(v4);
        }
        let leaf = self.descend(&self.v6, (ip >> 64) as u64, 64);
        self.country_of_ref(self.v6_ref_from(leaf, ip))
    }

    /// The record behind a reference from [`Table::find_v4_ref`] or
    /// [`Table::find_v6_ref`]; `None` for [`format::REC_NONE`] or a reference
    /// outside the records.
    #[inline]
    pub fn record(&self, r: u32) -> Option<Record<'_>> {
        if r == format::REC_NONE {
            return None;
        }
        let off = (r as usize).checked_mul(4)?;
        if off < 8 || off + 8 > self.records.len {
            return None;
        }
        let b = self.buf.as_ref();
        let abs = self.records.off + off;
        let presence = read_u64(b, abs)?;
        Some(Record {
            bytes: b,
            abs,
            end: self.records.end(),
            presence,
            id: r,
            strings: self.strings,
            columns: &self.columns,
            field_cols: &self.field_cols,
            wide_mask: self.wide_mask,
        })
    }

    /// Walks the whole table and checks it in depth: the checksum, every
    /// string and record, that every range refers to a record start, that
    /// neighbouring ranges differ, and that the indexes are exact.
    ///
    /// # Errors
    /// [`TableError::Corrupt`] describing the first inconsistency.
    pub fn verify(&self) -> Result<VerifyReport, TableError> {
        crate::verify::verify(self)
    }

    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            b: self.buf.as_ref(),
            strings: (self.strings.off, self.strings.len),
            records: (self.records.off, self.records.len),
            v4: self.v4,
            v6: self.v6,
            splits: (self.splits.off, self.splits.len),
            low: (self.low.off, self.low.len),
            columns: &self.columns,
            checksum: self.meta.checksum,
            aliases: &self.aliases,
            countries: &self.countries,
            v4_countries: self.v4_countries.map(|(s, e)| (s, e.off, e.len)),
        }
    }
}

/// The code of record `r` in a country directory (runs of records with one
/// code, by first reference): `None` before the first run or for a run
/// without a code. The reader's `countries` section and the writer share it.
pub(crate) fn country_in_runs(runs: &[(u32, [u8; 2])], r: u32) -> Option<[u8; 2]> {
    let i = runs.partition_point(|c| c.0 <= r).checked_sub(1)?;
    let cc = runs[i].1;
    (cc != [0, 0]).then_some(cc)
}

/// Hints the CPU to fetch `b[off]` into cache.
#[inline(always)]
fn prefetch(b: &[u8], off: usize) {
    #[cfg(target_arch = "x86_64")]
    if off < b.len() {
        // SAFETY: `off` is within `b`, so the pointer is valid; a prefetch
        // never faults and has no other effect.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                b.as_ptr().add(off).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (b, off);
}

/// Raw section positions, for the verifier.
pub(crate) struct Parts<'a> {
    pub b: &'a [u8],
    pub strings: (usize, usize),
    pub records: (usize, usize),
    pub v4: Family,
    pub v6: Family,
    pub splits: (usize, usize),
    pub low: (usize, usize),
    pub columns: &'a [Column],
    pub checksum: u64,
    pub aliases: &'a [(u128, u8)],
    pub countries: &'a [(u32, [u8; 2])],
    /// IPv4 country ranges: slot directory offset, entries offset and length.
    pub v4_countries: Option<(usize, usize, usize)>,
}

/// What [`Table::verify`] counted.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Strings in the pool.
    pub strings: usize,
    /// Records.
    pub records: usize,
    /// IPv4 range entries.
    pub v4_ranges: usize,
    /// IPv6 range entries (high halves).
    pub v6_ranges: usize,
    /// Split /64 blocks.
    pub v6_splits: usize,
    /// Ranges inside split blocks.
    pub v6_low: usize,
    /// IPv4 country range entries (0 where the table has none).
    pub v4_country_ranges: usize,
}

/// The last index `i` below `n` for which `le(i)` holds, starting from `lo`
/// (`le` is monotone over `first..n`: true, then false, and true at
/// `first`). A few steps are scanned one by one, then the search gallops.
/// If `le(lo)` does not hold (`lo` an interpolated guess past the answer,
/// or an index that `open` could not prove exact), it gallops down instead,
/// so answers stay right.
#[inline(always)]
fn scan(lo: usize, first: usize, n: usize, le: impl Fn(usize) -> bool) -> Option<usize> {
    if lo >= n || lo < first {
        return search(first, n.checked_sub(1)?, le);
    }
    if !le(lo) {
        // The answer lies below `lo`: gallop down to an entry where `le`
        // holds, then bisect (at `first`, `search` copes with a malformed
        // slot where `le(first)` does not hold).
        let mut hi = lo;
        let mut step = 1;
        loop {
            let j = lo.saturating_sub(step).max(first);
            if j == first || le(j) {
                return search(j, hi.saturating_sub(1).max(j), le);
            }
            hi = j;
            step *= 2;
        }
    }
    let mut i = lo;
    for _ in 0..8 {
        if i + 1 < n && le(i + 1) {
            i += 1;
        } else {
            return Some(i);
        }
    }
    let mut step = 8;
    loop {
        let j = i + step;
        if j < n && le(j) {
            i = j;
            step *= 2;
        } else {
            return search(i, j.min(n) - 1, le);
        }
    }
}

/// A slot's range entries `first..end`, and `at`, the entry that [`guess`]
/// predicts for the key being looked up.
#[derive(Clone, Copy)]
struct SlotGuess {
    first: usize,
    end: usize,
    at: usize,
}

/// The entry of slot `first..end` that linear interpolation predicts for
/// relative key `rel` (of `sub` bits): where it would be if the slot's
/// range starts were evenly spread. Always in `first..end` for a non-empty
/// slot.
#[inline(always)]
fn guess(first: usize, end: usize, rel: u64, sub: u32) -> usize {
    let n = end.saturating_sub(first) as u128;
    first + ((u128::from(rel) * n) >> sub) as usize
}

/// The last index `i` in `lo..=hi` for which `le(i)` holds, given that it
/// holds for `lo` and is monotone (true then false). Short spans are scanned,
/// long ones bisected.
#[inline(always)]
fn search(lo: usize, hi: usize, le: impl Fn(usize) -> bool) -> Option<usize> {
    if hi < lo {
        return None;
    }
    let (mut l, mut r) = (lo, hi);
    while r - l > 8 {
        let m = l + (r - l).div_ceil(2);
        if le(m) {
            l = m;
        } else {
            r = m - 1;
        }
    }
    let mut i = l;
    while i < r && le(i + 1) {
        i += 1;
    }
    Some(i)
}

/// The shortest prefix length `p` such that the `p`-network around `ip` lies
/// within `[start, end]`.
fn cidr_within(ip: u128, start: u128, end: u128, bits: u32) -> u8 {
    for p in 0..=bits {
        let host = if p == bits {
            0
        } else {
            u128::MAX >> (128 - bits + p)
        };
        let first = ip & !host;
        let last = first | host;
        if first >= start && last <= end {
            return p as u8;
        }
    }
    bits as u8
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// A record of a table. Cheap to copy; values are read on access.
#[derive(Clone, Copy)]
pub struct Record<'t> {
    bytes: &'t [u8],
    abs: usize,
    end: usize,
    presence: u64,
    id: u32,
    strings: Sec,
    columns: &'t [Column],
    field_cols: &'t [Vec<u8>],
    wide_mask: u64,
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (c, v) in self.iter() {
            m.entry(&(c.field_id, c.lang), &v);
        }
        m.finish()
    }
}

impl<'t> Record<'t> {
    /// The record's reference: equal for equal records of one table, and
    /// stable for the table's lifetime.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The presence word: bit `i` is set when column `i` has a value.
    pub fn presence(&self) -> u64 {
        self.presence
    }

    /// The value in column `col`, if present.
    #[inline]
    pub fn column(&self, col: usize) -> Option<ValueRef<'t>> {
        let c = self.columns.get(col)?;
        if col >= 64 || self.presence & (1 << col) == 0 {
            return None;
        }
        let before = self.presence & ((1u64 << col) - 1);
        let slot = (before.count_ones() + (before & self.wide_mask).count_ones()) as usize;
        let off = self.abs + 8 + slot * 4;
        if off + 4 * c.ty.slots() > self.end {
            return None;
        }
        let w = read_u32(self.bytes, off)?;
        Some(match c.ty {
            ColumnType::Str => ValueRef::Str(self.string(w)?),
            ColumnType::U32 => ValueRef::U32(w),
            ColumnType::F32 => ValueRef::F32(f32::from_bits(w)),
            ColumnType::F64 => ValueRef::F64(f64::from_bits(read_u64(self.bytes, off)?)),
        })
    }

    /// The raw bytes of the string at pool offset `off`.
    #[inline]
    pub fn string_bytes(&self, off: u32) -> Option<&'t [u8]> {
        let start = self.strings.off.checked_add(off as usize)?;
        if off as usize >= self.strings.len {
            return None;
        }
        let (len, n) = format::read_varint(self.bytes, start)?;
        let s = start + n;
        let e = s.checked_add(len as usize)?;
        if e > self.strings.end() {
            return None;
        }
        self.bytes.get(s..e)
    }

    fn string(&self, off: u32) -> Option<&'t str> {
        std::str::from_utf8(self.string_bytes(off)?).ok()
    }

    /// The raw slot word of column `col` (a string offset for strings), if
    /// present. Used by the FFI layer.
    #[inline]
    pub fn raw_slot(&self, col: usize) -> Option<(ColumnType, u32)> {
        let c = self.columns.get(col)?;
        if col >= 64 || self.presence & (1 << col) == 0 {
            return None;
        }
        let before = self.presence & ((1u64 << col) - 1);
        let slot = (before.count_ones() + (before & self.wide_mask).count_ones()) as usize;
        let off = self.abs + 8 + slot * 4;
        if off + 4 * c.ty.slots() > self.end {
            return None;
        }
        Some((c.ty, read_u32(self.bytes, off)?))
    }

    /// A field's value: for names, in the first of the table's languages
    /// that has one.
    pub fn get(&self, field: Field) -> Option<ValueRef<'t>> {
        self.field_cols
            .get(field as usize)?
            .iter()
            .find_map(|&c| self.column(usize::from(c)))
    }

    /// The two bytes of the record's `country_code`, if it has a two-byte one.
    pub fn country_code(&self) -> Option<[u8; 2]> {
        match self.get_str(Field::CountryCode)?.as_bytes() {
            &[a, b] => Some([a, b]),
            _ => None,
        }
    }

    /// A string field's value (names in the preferred language).
    pub fn get_str(&self, field: Field) -> Option<&'t str> {
        match self.get(field)? {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A name in one language (`lang` index into [`Meta::languages`]).
    pub fn name(&self, field: Field, lang: u8) -> Option<&'t str> {
        let col = self
            .columns
            .iter()
            .position(|c| c.field == Some(field) && c.lang == Some(lang))?;
        match self.column(col)? {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// All present values, in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&'t Column, ValueRef<'t>)> + '_ {
        self.columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.column(i).map(|v| (c, v)))
    }

    /// The record as a JSON object: every field (names in the preferred
    /// language) plus, for names, `"<field>_<lang>"` keys... see
    /// [`Record::to_json_with`].
    pub fn to_json(&self, languages: &[String]) -> serde_json::Map<String, serde_json::Value> {
        self.to_json_with(languages, false)
    }

    /// The record as a JSON object. Each field appears under its name, names
    /// in the first language that has them. With `all_languages`, a `names`
    /// object adds every stored language: `{"city": {"en": .., "zh-CN": ..}}`.
    pub fn to_json_with(
        &self,
        languages: &[String],
        all_languages: bool,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        for f in Field::ALL.into_iter().filter(|f| !f.is_hidden()) {
            if let Some(v) = self.get(f) {
                m.insert(f.name().to_string(), v.to_json());
            }
        }
        if all_languages {
            let mut names = serde_json::Map::new();
            for (c, v) in self.iter() {
                let (Some(f), Some(l)) = (c.field, c.lang) else {
                    continue;
                };
                let entry = names
                    .entry(f.name().to_string())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                if let (Some(obj), Some(lang)) =
                    (entry.as_object_mut(), languages.get(usize::from(l)))
                {
                    obj.insert(lang.clone(), v.to_json());
                }
            }
            if !names.is_empty() {
                m.insert("names".into(), serde_json::Value::Object(names));
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_last_le() {
        let keys = [0u32, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
        for a in 0..130 {
            let i = search(0, keys.len() - 1, |i| keys[i] <= a).unwrap();
            assert_eq!(i, keys.partition_point(|&k| k <= a) - 1, "a={a}");
        }
        assert_eq!(search(3, 2, |_| true), None);
    }

    #[test]
    fn scan_finds_last_le_from_any_start() {
        // A slot at `first`..`n` of a longer array: every start, whether
        // before the answer (scan up, gallop), on it, or past it (an
        // interpolated guess too far: gallop down), gives the same entry.
        let keys: Vec<u32> = (0..300).map(|i| i * 7 + (i % 5)).collect();
        let (first, n) = (20, 260);
        let rel = |i: usize| keys[i] - keys[first];
        for a in [
            0, 1, 6, 7, 40, 41, 500, 1000, 1001, 1500, 1673, 1674, 1675, 5000,
        ] {
            let want = first + (first..n).filter(|&i| rel(i) <= a).count() - 1;
            for lo in first..n {
                assert_eq!(
                    scan(lo, first, n, |i| rel(i) <= a),
                    Some(want),
                    "a={a} lo={lo}"
                );
            }
            // A start outside the slot bisects it.
            assert_eq!(scan(n, first, n, |i| rel(i) <= a), Some(want), "a={a}");
            assert_eq!(scan(0, first, n, |i| rel(i) <= a), Some(want), "a={a}");
        }
    }

    #[test]
    fn guess_stays_in_the_slot() {
        for (first, end) in [(0usize, 1usize), (5, 6), (10, 20), (100, 65_636)] {
            for rel in [0u64, 1, 0x7FFF, 0xFFFF] {
                let g = guess(first, end, rel, 16);
                assert!((first..end).contains(&g), "{first}..{end} rel={rel}: {g}");
            }
            let g = guess(first, end, u64::MAX >> 16, 48);
            assert!((first..end).contains(&g));
        }
        assert_eq!(guess(0, 100, 0x8000, 16), 50);
    }

    #[test]
    fn cidr_within_picks_the_largest_block() {
        assert_eq!(cidr_within(0x0A01_0203, 0x0A00_0000, 0x0AFF_FFFF, 32), 8);
        assert_eq!(cidr_within(0x0A01_0203, 0x0A01_0200, 0x0A01_02FF, 32), 24);
        // 10.0.0.0 - 10.0.2.255: 10.0.2.x is only a /24 there.
        assert_eq!(cidr_within(0x0A00_0205, 0x0A00_0000, 0x0A00_02FF, 32), 24);
        assert_eq!(cidr_within(0x0A00_0105, 0x0A00_0000, 0x0A00_02FF, 32), 23);
        assert_eq!(cidr_within(5, 0, u128::from(u32::MAX), 32), 0);
        assert_eq!(cidr_within(5, 5, 5, 32), 32);
        assert_eq!(cidr_within(1, 0, u128::MAX, 128), 0);
    }

    #[test]
    fn network_text_equals_display() {
        let check = |addr: IpAddr, prefix: u8| {
            let net = Network { addr, prefix };
            let mut buf = [0u8; Network::MAX_TEXT];
            let n = net.write_text(&mut buf).expect("MAX_TEXT suffices");
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), net.to_string());
            // Every shorter buffer is refused, never overrun.
            for short in 0..n {
                assert_eq!(net.write_text(&mut buf[..short]), None, "{net} in {short}");
            }
        };
        for v in 0..=255u8 {
            for at in 0..4 {
                let mut o = [1u8, 20, 3, 200];
                o[at] = v;
                check(IpAddr::from(o), v % 33);
            }
        }
        for prefix in 0..=128u8 {
            check(IpAddr::V6(Ipv6Addr::from(u128::MAX)), prefix);
        }
        for text in [
            "::",
            "::1",
            "2001:db8::",
            "::ffff:1.2.3.4",
            "fe80::1:0:0:1",
            "1:2:3:4:5:6:7:8",
        ] {
            check(IpAddr::V6(text.parse().unwrap()), 64);
        }
    }
}
