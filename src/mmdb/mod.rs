//! A MaxMind DB (MMDB) reader, written for importing untrusted files.
//!
//! [`Mmdb::from_source`] checks the layout once (metadata, sizes, separator);
//! [`Mmdb::lookup`] follows the search tree like MaxMind's readers do;
//! [`Mmdb::walk`] lists every network once, refusing cycles and shared
//! subtrees; [`Mmdb::decode`] decodes one record under a resource budget
//! ([`Limits::RECORD`]). Nothing here panics or loops on a crafted file: all
//! sizes are checked, all work is bounded by the file's size.
//!
//! The format is described in `data/maxmind/MaxMind-DB-spec.md`.
//!
//! ```
//! use ipgeo::mmdb::{Entry, Mmdb};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/maxmind/test-data/MaxMind-DB-test-ipv4-24.mmdb");
//! # if !std::path::Path::new(path).exists() { return; }
//! let db = Mmdb::from_source(std::fs::read(path).unwrap()).unwrap();
//! assert_eq!(db.metadata().ip_version, 4);
//! let (prefix_len, offset) = db.lookup("1.1.1.3".parse().unwrap()).unwrap().unwrap();
//! assert_eq!(prefix_len, 31);
//! assert_eq!(db.decode(offset).unwrap().get("ip").and_then(|v| v.as_str()), Some("1.1.1.2"));
//! let networks = db.walk().collect::<Result<Vec<Entry>, _>>().unwrap();
//! assert_eq!(networks.len(), 6);
//! ```
//!
//! # Walk order and IPv4 in IPv6 trees
//!
//! [`Mmdb::walk`] yields [`Entry`]s depth first, so in ascending address
//! order within each family; records with no data are skipped.
//!
//! - In an IPv4 database every network is IPv4 (`v6: false`).
//! - In an IPv6 database, the *IPv4 root* is what 96 zero bits lead to
//!   from the root (`::/96`). Networks inside `::/96` are reported as IPv4:
//!   `v6: false`, `start` the low 32 bits, `prefix_len` minus 96. They come
//!   first, since `::/96` is the lowest part of the address space.
//! - If a data record is reached on the all-zero path *above* depth 96
//!   (`::/96` lies inside a larger network `::/n`), the walk yields that IPv6
//!   network and then the IPv4 network `0.0.0.0/0` with the same data,
//!   because IPv4 lookups are answered with it.
//! - A record elsewhere in the tree that points to the IPv4 root node is an
//!   alias (MaxMind maps `::ffff:0:0/96`, `2002::/16` and, in older files,
//!   `2001::/32` this way): it is yielded as [`Entry::Alias`] and not
//!   descended. [`Mmdb::has_ipv4_subtree`] says whether `::/96` itself is
//!   answered from IPv4 data.
//! - Errors, each naming the node: a node reached twice otherwise (a cycle
//!   or a shared subtree), a node deeper than the address length, a record
//!   pointing into the separator or beyond the data section, an alias deeper
//!   than 96 bits, and, once the walk is over, nodes that no path reaches
//!   (`node_count` does not match the tree). The walk stops at the first
//!   error; networks it yielded before are not retracted, so a caller that
//!   wants all or nothing (like the importer) drops them.
//!
//! Each node is visited once, so a walk takes time linear in `node_count`
//! and memory of one bit per node, whatever the file holds.
//!
//! MaxMind's `within` iteration (with default options) lists the same
//! networks, except in one corner: when the all-zero path ends in a *data
//! record* above depth 96, it treats every other record with that same value
//! as an alias and skips it, and reports `::/n` as IPv6 only. This walk
//! reports those networks (their data is real: lookups return it).

mod decode;
mod error;
mod metadata;
#[cfg(test)]
pub(crate) mod testutil;

use std::net::IpAddr;

pub use decode::{Limits, Value};
pub use error::{Limit, MmdbError, Section};
pub use metadata::{Metadata, MAX_BUILD_EPOCH};

/// The marker that starts the metadata section.
pub const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

/// The metadata section (marker included) is in the file's last 128 KiB.
const METADATA_MAX: usize = 128 * 1024;

/// Bytes of zeros between the search tree and the data section.
const SEPARATOR: usize = 16;

/// Depth of the IPv4 root in an IPv6 tree.
const V4_DEPTH: u8 = 96;

/// A network or an alias listed by [`Mmdb::walk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A network with data. Family bits: 32 for IPv4, 128 for IPv6; `start`
    /// holds the address in the low bits and `prefix_len` counts the family's
    /// bits.
    Network {
        /// Whether this is an IPv6 network.
        v6: bool,
        /// First address.
        start: u128,
        /// Prefix length, at most 32 or 128.
        prefix_len: u8,
        /// Offset of the record in the data section (for [`Mmdb::decode`]).
        data: u32,
    },
    /// An IPv6 subtree that points back to the IPv4 root node (aliases such
    /// as `::ffff:0:0/96`, `2001::/32`, `2002::/16`): an address in it is
    /// answered with the IPv4 address in the 32 bits that follow the prefix.
    /// Not descended.
    Alias {
        /// First address of the IPv6 prefix.
        start: u128,
        /// Prefix length, at most 96.
        prefix_len: u8,
    },
}

/// An opened MaxMind DB over a buffer: a `Vec<u8>`, a slice or a mapping.
///
/// `S::as_ref` must return the same bytes every time; if it ever returns a
/// shorter slice, lookups and walks fail with [`MmdbError::BadLayout`].
pub struct Mmdb<S: AsRef<[u8]>> {
    buf: S,
    meta: Metadata,
    node_count: u32,
    /// Bytes of search tree.
    tree_len: usize,
    /// File offset of the data section.
    data_start: usize,
    /// Bytes of data section (up to the metadata marker).
    data_len: usize,
    /// The record reached from the root by up to 96 zero bits (IPv6
    /// databases), and the depth it was reached at; `(0, 0)` for IPv4.
    v4_root: u32,
    v4_root_depth: u8,
}

impl<S: AsRef<[u8]>> std::fmt::Debug for Mmdb<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mmdb")
            .field("metadata", &self.meta)
            .field("data_len", &self.data_len)
            .field("has_ipv4_subtree", &self.has_ipv4_subtree())
            .finish_non_exhaustive()
    }
}

/// The search tree's bytes, checked to hold `node_count` nodes.
#[derive(Clone, Copy)]
struct Tree<'a> {
    bytes: &'a [u8],
    node_count: u32,
    record_size: u16,
}

impl Tree<'_> {
    /// Record `side` (0 left, 1 right) of `node`.
    ///
    /// Callers only pass `node < node_count`, and `bytes` holds
    /// `node_count` nodes (checked by [`Mmdb::tree`]), so the indexing below
    /// is in bounds.
    #[inline]
    fn record(&self, node: u32, side: usize) -> u32 {
        debug_assert!(node < self.node_count);
        let b = |i: usize| u32::from(self.bytes[i]);
        match self.record_size {
            24 => {
                let o = node as usize * 6 + side * 3;
                (b(o) << 16) | (b(o + 1) << 8) | b(o + 2)
            }
            28 => {
                let o = node as usize * 7;
                if side == 0 {
                    ((b(o + 3) & 0xf0) << 20) | (b(o) << 16) | (b(o + 1) << 8) | b(o + 2)
                } else {
                    ((b(o + 3) & 0x0f) << 24) | (b(o + 4) << 16) | (b(o + 5) << 8) | b(o + 6)
                }
            }
            _ => {
                let o = node as usize * 8 + side * 4;
                (b(o) << 24) | (b(o + 1) << 16) | (b(o + 2) << 8) | b(o + 3)
            }
        }
    }
}

/// The last occurrence of `needle` in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay[i..].starts_with(needle))
}

impl<S: AsRef<[u8]>> Mmdb<S> {
    /// Opens a database: finds and decodes the metadata and checks the
    /// layout.
    ///
    /// The metadata marker is searched for in the last 128 KiB (its last
    /// occurrence). The checks: binary format major version 2, `record_size`
    /// 24, 28 or 32, `ip_version` 4 or 6, `node_count` at least 1,
    /// `build_epoch` no later than the year 9999, the search tree
    /// (`node_count * record_size / 4` bytes) and the 16-byte separator fit
    /// before the marker, and the separator is all zeros.
    ///
    /// # Errors
    /// [`MmdbError::NoMetadata`] if there is no marker,
    /// [`MmdbError::BadMetadata`], [`MmdbError::BadData`] or
    /// [`MmdbError::LimitExceeded`] (section [`Section::Metadata`]) if the
    /// metadata is invalid, [`MmdbError::BadLayout`] if the sections do not
    /// fit.
    pub fn from_source(buf: S) -> Result<Mmdb<S>, MmdbError> {
        let bytes = buf.as_ref();
        let tail = bytes.len().saturating_sub(METADATA_MAX);
        let marker = rfind(&bytes[tail..], METADATA_MARKER).ok_or(MmdbError::NoMetadata)? + tail;
        let meta_start = marker + METADATA_MARKER.len();
        let meta = metadata::parse(&bytes[meta_start..])?;
        let node_count = meta.node_count;
        let node_bytes = usize::from(meta.record_size) / 4;
        let tree_len = (node_count as usize)
            .checked_mul(node_bytes)
            .ok_or_else(|| {
                MmdbError::BadLayout(format!("a search tree of {node_count} nodes is too large"))
            })?;
        let data_start = tree_len
            .checked_add(SEPARATOR)
            .filter(|e| *e <= marker)
            .ok_or_else(|| {
                MmdbError::BadLayout(format!(
                    "the search tree ({node_count} nodes of {node_bytes} bytes) and the 16-byte \
                 separator do not fit before the metadata at byte {marker}"
                ))
            })?;
        if bytes[tree_len..data_start].iter().any(|b| *b != 0) {
            return Err(MmdbError::BadLayout(format!(
                "the data section separator at byte {tree_len} is not 16 zero bytes"
            )));
        }
        let mut db = Mmdb {
            meta,
            node_count,
            tree_len,
            data_start,
            data_len: marker - data_start,
            v4_root: 0,
            v4_root_depth: 0,
            buf,
        };
        if db.meta.ip_version == 6 {
            let tree = db.tree()?;
            let (mut rec, mut depth) = (0u32, 0u8);
            while depth < V4_DEPTH && rec < node_count {
                rec = tree.record(rec, 0);
                depth += 1;
            }
            db.v4_root = rec;
            db.v4_root_depth = depth;
        }
        Ok(db)
    }

    /// The database's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The underlying buffer.
    pub fn source(&self) -> &S {
        &self.buf
    }

    /// Whether this is an IPv6 database whose `::/96` is answered from IPv4
    /// data by its low 32 bits: the all-zero path reaches depth 96 (on a node,
    /// or on a data record covering exactly `::/96`). Such a database answers
    /// `::a.b.c.d` like `a.b.c.d`.
    pub fn has_ipv4_subtree(&self) -> bool {
        self.meta.ip_version == 6
            && self.v4_root_depth == V4_DEPTH
            && self.v4_root != self.node_count
    }

    /// Bytes in the data section.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    fn tree(&self) -> Result<Tree<'_>, MmdbError> {
        let bytes = self.buf.as_ref().get(..self.tree_len).ok_or_else(|| {
            MmdbError::BadLayout("the buffer shrank after the database was opened".into())
        })?;
        Ok(Tree {
            bytes,
            node_count: self.node_count,
            record_size: self.meta.record_size,
        })
    }

    /// The data section offset a data record `rec` found in `node` points
    /// to (`rec > node_count`).
    fn data_offset(&self, node: u32, rec: u32) -> Result<u32, MmdbError> {
        let rel = rec - self.node_count;
        if rel < SEPARATOR as u32 {
            return Err(MmdbError::tree(
                node,
                format!("record {rec} points into the data section separator"),
            ));
        }
        let off = rel - SEPARATOR as u32;
        if off as usize >= self.data_len {
            return Err(MmdbError::tree(
                node,
                format!(
                    "record {rec} points to data offset {off}, beyond the data section ({} bytes)",
                    self.data_len
                ),
            ));
        }
        Ok(off)
    }

    /// Follows up to `bits` bits of `addr` (its top bits, in a 128-bit
    /// word) from record `rec`.
    fn descend(
        &self,
        tree: Tree<'_>,
        mut rec: u32,
        addr: u128,
        bits: u8,
    ) -> Result<Option<(u8, u32)>, MmdbError> {
        let mut node = rec;
        let mut prefix = bits;
        for i in 0..bits {
            if rec >= self.node_count {
                prefix = i;
                break;
            }
            node = rec;
            rec = tree.record(node, ((addr >> (127 - u32::from(i))) & 1) as usize);
        }
        if rec < self.node_count {
            return Err(MmdbError::tree(
                rec,
                format!("is deeper than the {bits}-bit address"),
            ));
        }
        if rec == self.node_count {
            return Ok(None);
        }
        Ok(Some((prefix, self.data_offset(node, rec)?)))
    }

    /// Looks `ip` up: the prefix length of the network holding it and the
    /// offset of its record, or `None` if the database has no data for it.
    ///
    /// The prefix length counts the bits of `ip`'s family. An IPv4 address in
    /// an IPv6 database is looked up from the IPv4 root (what `::/96` leads
    /// to), as MaxMind's readers do; its prefix length is then the IPv4 part
    /// only (MaxMind's `lookup` reports it plus 96), and `0` when `::/96`
    /// lies inside a larger IPv6 network that has data. An IPv6 address
    /// follows the tree through aliases, so `::ffff:1.2.3.4` finds the data
    /// of `1.2.3.4` with an IPv6 prefix length.
    ///
    /// # Errors
    /// [`MmdbError::Ipv6InIpv4Database`] for an IPv6 address in an IPv4
    /// database; [`MmdbError::BadTree`] if the path has a record pointing
    /// into the separator or past the data section, or is longer than the
    /// address.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<(u8, u32)>, MmdbError> {
        let tree = self.tree()?;
        match ip {
            IpAddr::V4(a) => {
                let addr = u128::from(u32::from(a)) << 96;
                if self.meta.ip_version == 4 {
                    return self.descend(tree, 0, addr, 32);
                }
                let root = self.v4_root;
                if self.v4_root_depth < V4_DEPTH || root >= self.node_count {
                    // No bits of the IPv4 address are used: `::/n` covers it.
                    if root == self.node_count {
                        return Ok(None);
                    }
                    return self.descend(tree, root, addr, 0);
                }
                self.descend(tree, root, addr, 32)
            }
            IpAddr::V6(a) => {
                if self.meta.ip_version == 4 {
                    return Err(MmdbError::Ipv6InIpv4Database);
                }
                self.descend(tree, 0, u128::from(a), 128)
            }
        }
    }

    /// Decodes the record at `data_offset` (relative to the data section)
    /// under [`Limits::RECORD`].
    ///
    /// # Errors
    /// [`MmdbError::BadData`] if the value is malformed (with its offset),
    /// [`MmdbError::LimitExceeded`] if it goes over a limit.
    pub fn decode(&self, data_offset: u32) -> Result<Value<'_>, MmdbError> {
        self.decode_with(data_offset, Limits::RECORD)
    }

    /// [`Mmdb::decode`] with other limits.
    ///
    /// # Errors
    /// As [`Mmdb::decode`].
    pub fn decode_with(&self, data_offset: u32, limits: Limits) -> Result<Value<'_>, MmdbError> {
        self.decode_counting(data_offset, limits, &mut 0)
    }

    /// [`Mmdb::decode_with`], adding the work done (values decoded plus
    /// bytes of strings and bytes, as charged against `limits`) to `work`,
    /// so that a caller decoding many records can bound the total.
    ///
    /// # Errors
    /// As [`Mmdb::decode`].
    pub fn decode_counting(
        &self,
        data_offset: u32,
        limits: Limits,
        work: &mut u64,
    ) -> Result<Value<'_>, MmdbError> {
        let end = self.data_start + self.data_len;
        let data = self.buf.as_ref().get(self.data_start..end).ok_or_else(|| {
            MmdbError::BadLayout("the buffer shrank after the database was opened".into())
        })?;
        let mut d = decode::Decoder::new(data, Section::Data, limits);
        let v = d.decode_root(data_offset as usize);
        *work = work.saturating_add(d.work());
        v
    }

    /// Lists every network with data, and every alias, once: see the
    /// [module documentation](self) for the order and the IPv4 rules.
    ///
    /// The walk visits each node at most once, so it takes time linear in
    /// the tree's size, and memory of one bit per node.
    pub fn walk(&self) -> Walk<'_, S> {
        let (tree, error) = match self.tree() {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e)),
        };
        let words = (self.node_count as usize).div_ceil(64);
        Walk {
            db: self,
            tree,
            error,
            stack: vec![Frame {
                rec: 0,
                parent: 0,
                start: 0,
                depth: 0,
            }],
            visited: if tree.is_some() {
                vec![0; words]
            } else {
                Vec::new()
            },
            pending: None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    /// The record value (a node, "no data", or a data pointer).
    rec: u32,
    /// The node the record is in (for error messages).
    parent: u32,
    /// The network's first address, in the top bits of a 128-bit word.
    start: u128,
    /// Its prefix length in the tree.
    depth: u8,
}

/// The iterator of [`Mmdb::walk`]. After an error it yields nothing more.
pub struct Walk<'a, S: AsRef<[u8]>> {
    db: &'a Mmdb<S>,
    tree: Option<Tree<'a>>,
    error: Option<MmdbError>,
    stack: Vec<Frame>,
    visited: Vec<u64>,
    pending: Option<Entry>,
}

impl<S: AsRef<[u8]>> std::fmt::Debug for Walk<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("pending", &self.pending)
            .field("stack_len", &self.stack.len())
            .field("done", &self.tree.is_none())
            .finish_non_exhaustive()
    }
}

impl<S: AsRef<[u8]>> Walk<'_, S> {
    fn fail(&mut self, e: MmdbError) -> Option<Result<Entry, MmdbError>> {
        self.stack.clear();
        self.pending = None;
        self.tree = None;
        Some(Err(e))
    }
}

impl<S: AsRef<[u8]>> Iterator for Walk<'_, S> {
    type Item = Result<Entry, MmdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            return self.fail(e);
        }
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        let tree = self.tree?;
        let db = self.db;
        let nc = db.node_count;
        let v6 = db.meta.ip_version == 6;
        let bits: u8 = if v6 { 128 } else { 32 };
        while let Some(f) = self.stack.pop() {
            if f.rec == nc {
                continue;
            }
            if f.rec > nc {
                let data = match db.data_offset(f.parent, f.rec) {
                    Ok(d) => d,
                    Err(e) => return self.fail(e),
                };
                if !v6 {
                    let start = f.start >> 96;
                    return Some(Ok(Entry::Network {
                        v6: false,
                        start,
                        prefix_len: f.depth,
                        data,
                    }));
                }
                if f.depth >= V4_DEPTH && f.start >> 32 == 0 {
                    let start = f.start;
                    let prefix_len = f.depth - V4_DEPTH;
                    return Some(Ok(Entry::Network {
                        v6: false,
                        start,
                        prefix_len,
                        data,
                    }));
                }
                if f.start == 0 {
                    // The all-zero path ends here, above depth 96: IPv4
                    // lookups are answered with this record.
                    self.pending = Some(Entry::Network {
                        v6: false,
                        start: 0,
                        prefix_len: 0,
                        data,
                    });
                }
                let (start, prefix_len) = (f.start, f.depth);
                return Some(Ok(Entry::Network {
                    v6: true,
                    start,
                    prefix_len,
                    data,
                }));
            }
            // An internal node.
            let node = f.rec;
            if v6 && node == db.v4_root && db.v4_root_depth == V4_DEPTH && f.start >> 32 != 0 {
                if f.depth > V4_DEPTH {
                    return self.fail(MmdbError::tree(
                        f.parent,
                        format!(
                            "points back to the IPv4 root node {node} at depth {}, deeper than 96",
                            f.depth
                        ),
                    ));
                }
                return Some(Ok(Entry::Alias {
                    start: f.start,
                    prefix_len: f.depth,
                }));
            }
            if f.depth >= bits {
                return self.fail(MmdbError::tree(
                    node,
                    format!("is deeper than the {bits}-bit address"),
                ));
            }
            let (w, b) = (node as usize / 64, 1u64 << (node % 64));
            if self.visited[w] & b != 0 {
                return self.fail(MmdbError::tree(
                    node,
                    "is reachable twice (a cycle or a shared subtree)",
                ));
            }
            self.visited[w] |= b;
            let depth = f.depth + 1;
            let right = f.start | (1u128 << (127 - u32::from(f.depth)));
            self.stack.push(Frame {
                rec: tree.record(node, 1),
                parent: node,
                start: right,
                depth,
            });
            self.stack.push(Frame {
                rec: tree.record(node, 0),
                parent: node,
                start: f.start,
                depth,
            });
        }
        self.tree = None;
        // Every node must have been reached: a writer numbers exactly the
        // nodes of its tree, so unreachable nodes mean a wrong node_count or
        // a corrupt tree.
        let reached: u64 = self.visited.iter().map(|w| u64::from(w.count_ones())).sum();
        if reached != u64::from(nc) {
            let first = self
                .visited
                .iter()
                .enumerate()
                .find(|(_, w)| **w != u64::MAX)
                .map_or(0, |(i, w)| i as u64 * 64 + u64::from(w.trailing_ones()));
            let first = u32::try_from(first).unwrap_or(nc);
            return self.fail(MmdbError::tree(
                first,
                format!(
                    "is unreachable ({} of {nc} nodes are unreachable)",
                    u64::from(nc) - reached
                ),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::build;
    use super::*;

    fn walk(db: &Mmdb<Vec<u8>>) -> Result<Vec<Entry>, MmdbError> {
        db.walk().collect()
    }

    fn net(v6: bool, start: u128, prefix_len: u8, data: u32) -> Entry {
        Entry::Network {
            v6,
            start,
            prefix_len,
            data,
        }
    }

    const DATA: &[u8] = b"\x41a\x41b\x41c";

    #[test]
    fn ipv4_tree_in_every_record_size() {
        for rs in [24, 28, 32] {
            // 0/2 -> "a", 64/2 empty, 128/2 and 192/2 -> "b".
            let nc = 3;
            let (a, b) = (nc + 16, nc + 18);
            let db = Mmdb::from_source(build(4, rs, &[(1, 2), (a, nc), (b, b)], DATA)).unwrap();
            assert_eq!(db.metadata().record_size, rs);
            assert_eq!(db.metadata().build_date(), "2023-09-12");
            assert_eq!(
                walk(&db).unwrap(),
                vec![
                    net(false, 0, 2, 0),
                    net(false, 0x8000_0000, 2, 2),
                    net(false, 0xc000_0000, 2, 2)
                ]
            );
            let look = |ip: &str| db.lookup(ip.parse().unwrap());
            assert_eq!(look("1.2.3.4").unwrap(), Some((2, 0)));
            assert_eq!(look("100.0.0.1").unwrap(), None);
            assert_eq!(look("200.0.0.1").unwrap(), Some((2, 2)));
            assert_eq!(look("::1").unwrap_err(), MmdbError::Ipv6InIpv4Database);
            assert_eq!(db.decode(2).unwrap(), Value::Str("b"));
            assert!(!db.has_ipv4_subtree());
        }
    }

    #[test]
    fn ipv4_subtree_and_aliases() {
        // Nodes 0..=95 walk the zero path; node 96 is the IPv4 root. Node 0's
        // right record aliases the IPv4 root (8000::/1), node 1's right
        // record (4000::/2) is "c".
        let nc = 97;
        let (a, b, c) = (nc + 16, nc + 18, nc + 20);
        let mut nodes: Vec<(u32, u32)> = (0..96).map(|i| (i + 1, nc)).collect();
        nodes[0].1 = 96;
        nodes[1].1 = c;
        nodes.push((a, b));
        let db = Mmdb::from_source(build(6, 24, &nodes, DATA)).unwrap();
        assert!(db.has_ipv4_subtree());
        assert_eq!(
            walk(&db).unwrap(),
            vec![
                net(false, 0, 1, 0),
                net(false, 0x8000_0000, 1, 2),
                net(true, 1 << 126, 2, 4),
                Entry::Alias {
                    start: 1 << 127,
                    prefix_len: 1
                },
            ]
        );
        let look = |ip: &str| db.lookup(ip.parse().unwrap()).unwrap();
        assert_eq!(look("1.2.3.4"), Some((1, 0)));
        assert_eq!(look("200.2.3.4"), Some((1, 2)));
        assert_eq!(look("::1.2.3.4"), Some((97, 0)));
        assert_eq!(look("4000::1"), Some((2, 4)));
        // Through the alias: the bit after the prefix picks the IPv4 half.
        assert_eq!(look("8000::1"), Some((2, 0)));
        assert_eq!(look("c000::1"), Some((2, 2)));
        assert_eq!(look("2000::1"), None);
    }

    #[test]
    fn zero_path_data_above_96() {
        // ::/10 has data "a"; nothing else.
        let nc = 10;
        let mut nodes: Vec<(u32, u32)> = (0..10).map(|i| (i + 1, nc)).collect();
        nodes[9].0 = nc + 16;
        let db = Mmdb::from_source(build(6, 28, &nodes, DATA)).unwrap();
        assert!(!db.has_ipv4_subtree());
        assert_eq!(
            walk(&db).unwrap(),
            vec![net(true, 0, 10, 0), net(false, 0, 0, 0)]
        );
        let look = |ip: &str| db.lookup(ip.parse().unwrap()).unwrap();
        assert_eq!(look("1.2.3.4"), Some((0, 0)));
        assert_eq!(look("::1.2.3.4"), Some((10, 0)));
        assert_eq!(look("::ffff:1.2.3.4"), Some((10, 0)));
        assert_eq!(look("8000::1"), None);
        // Empty above 96: no IPv4 data at all.
        nodes[9].0 = nc;
        nodes[9].1 = nc + 16;
        let db = Mmdb::from_source(build(6, 28, &nodes, DATA)).unwrap();
        assert_eq!(walk(&db).unwrap(), vec![net(true, 1 << 118, 10, 0)]);
        assert_eq!(db.lookup("1.2.3.4".parse().unwrap()).unwrap(), None);
    }

    fn walk_err(ip_version: u8, nodes: &[(u32, u32)]) -> String {
        let db = Mmdb::from_source(build(ip_version, 24, nodes, DATA)).unwrap();
        let mut w = db.walk();
        let e = w.find_map(Result::err).expect("the walk fails").to_string();
        assert!(w.next().is_none(), "the walk stops after an error");
        e
    }

    #[test]
    fn corrupt_trees_are_refused() {
        // A cycle.
        assert_eq!(
            walk_err(4, &[(1, 2), (0, 2)]),
            "mmdb search tree node 0: is reachable twice (a cycle or a shared subtree)"
        );
        let db = Mmdb::from_source(build(4, 24, &[(1, 2), (0, 2)], DATA)).unwrap();
        assert_eq!(
            db.lookup("0.0.0.0".parse().unwrap())
                .unwrap_err()
                .to_string(),
            "mmdb search tree node 0: is deeper than the 32-bit address"
        );
        // A shared subtree.
        assert_eq!(
            walk_err(4, &[(1, 1), (18, 18)]),
            "mmdb search tree node 1: is reachable twice (a cycle or a shared subtree)"
        );
        // Too deep: 33 nodes on the zero path.
        let mut nodes: Vec<(u32, u32)> = (0..33).map(|i| (i + 1, 33)).collect();
        nodes[32] = (33 + 16, 33 + 16);
        assert_eq!(
            walk_err(4, &nodes),
            "mmdb search tree node 32: is deeper than the 32-bit address"
        );
        // Records into the separator, past the data.
        assert_eq!(
            walk_err(4, &[(2, 1)]),
            "mmdb search tree node 0: record 2 points into the data section separator"
        );
        assert_eq!(
            walk_err(4, &[(1, 117)]),
            "mmdb search tree node 0: record 117 points to data offset 100, beyond the data section (6 bytes)"
        );
        // Unreachable nodes.
        assert_eq!(
            walk_err(4, &[(18, 18), (0, 0)]),
            "mmdb search tree node 1: is unreachable (1 of 2 nodes are unreachable)"
        );
        // An alias of the IPv4 root below depth 96: node 0's right record
        // leads down 97 levels (nodes 97..=193) and then to node 96.
        let nc = 194;
        let mut nodes: Vec<(u32, u32)> = (0..96).map(|i| (i + 1, nc)).collect();
        nodes[0].1 = 97;
        nodes.push((nc + 16, nc + 16));
        nodes.extend((97..194).map(|i| (i + 1, nc)));
        nodes[193].0 = 96;
        assert_eq!(
            walk_err(6, &nodes),
            "mmdb search tree node 193: points back to the IPv4 root node 96 at depth 98, deeper than 96"
        );
    }

    #[test]
    fn layout_checks() {
        let good = build(4, 24, &[(1, 1)], DATA);
        assert!(Mmdb::from_source(&good[..]).is_ok());
        assert_eq!(
            Mmdb::from_source(&good[..30]).unwrap_err(),
            MmdbError::NoMetadata
        );
        assert_eq!(
            Mmdb::from_source(&b""[..]).unwrap_err(),
            MmdbError::NoMetadata
        );
        let mut bad = good.clone();
        bad[6 + 3] = 1;
        assert_eq!(
            Mmdb::from_source(&bad[..]).unwrap_err().to_string(),
            "mmdb layout: the data section separator at byte 6 is not 16 zero bytes"
        );
        // A node count the file cannot hold.
        let big = build(4, 24, &[(1, 1); 5], b"")[5 * 6 + 16..].to_vec();
        assert_eq!(
            Mmdb::from_source(&big[..]).unwrap_err().to_string(),
            "mmdb layout: the search tree (5 nodes of 6 bytes) and the 16-byte separator do not fit before the metadata at byte 0"
        );
        // The last marker wins: a marker inside the data section is data.
        let mut data = METADATA_MARKER.to_vec();
        data.extend(b"\x41a");
        let db = Mmdb::from_source(build(4, 24, &[(1, 1)], &data)).unwrap();
        assert_eq!(db.data_len(), METADATA_MARKER.len() + 2);
    }
}
