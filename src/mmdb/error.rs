//! The MMDB reader's error type.

use std::fmt;

/// The part of an MMDB file a [`MmdbError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// The data section (offsets relative to its start).
    Data,
    /// The metadata section (offsets relative to the byte after the marker).
    Metadata,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Data => "data section",
            Section::Metadata => "metadata",
        })
    }
}

/// A resource limit: of one decode (see [`crate::mmdb::Limits`]), or of an
/// import as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Maps, arrays and pointers nested deeper than the depth limit.
    Depth(u32),
    /// More logical values than the value limit in one decode.
    Values(u32),
    /// More string and bytes payload than the payload limit in one decode.
    Payload(usize),
    /// More decoding work (values plus payload bytes) for a whole file than
    /// its importer allows.
    FileWork(u64),
    /// A string copied into an imported record is longer than allowed.
    FieldLength(usize),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Depth(n) => write!(f, "values nested deeper than {n} levels"),
            Limit::Values(n) => write!(f, "more than {n} values in one record"),
            Limit::Payload(n) => {
                write!(f, "more than {n} bytes of strings and bytes in one record")
            }
            Limit::FileWork(n) => write!(
                f,
                "more than {n} units of decoding work for the whole file (values plus string bytes)"
            ),
            Limit::FieldLength(n) => write!(f, "a mapped string longer than {n} bytes"),
        }
    }
}

/// Why an MMDB file was refused or a lookup or decode failed.
///
/// Every variant names where the problem is (a node, an offset, a metadata
/// key), so that a refused file can be investigated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MmdbError {
    /// The `\xAB\xCD\xEFMaxMind.com` marker is not in the last 128 KiB.
    NoMetadata,
    /// The metadata is not a map, misses a key, has a key of the wrong type,
    /// or has a value this reader does not support.
    BadMetadata(String),
    /// The search tree, the separator or the data section does not fit the
    /// file.
    BadLayout(String),
    /// A search tree record is invalid.
    BadTree {
        /// The node holding the record (or the node reached), with
        /// `node_count` meaning "no node".
        node: u32,
        /// What is wrong.
        message: String,
    },
    /// A value is malformed.
    BadData {
        /// The section the value is in.
        section: Section,
        /// Offset of the offending control byte or payload.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// Decoding a value went over a resource limit; the file is refused as
    /// hostile or corrupt.
    LimitExceeded {
        /// The section the value is in.
        section: Section,
        /// Offset at which the limit was reached.
        offset: usize,
        /// The limit.
        limit: Limit,
    },
    /// An IPv6 address was looked up in an IPv4-only database.
    Ipv6InIpv4Database,
    /// The database is well formed but no network maps to a field ipgeo
    /// reads (an unknown schema, or no data): importing it would build a
    /// table of empty answers. Holds the database type.
    NoKnownFields(String),
}

impl MmdbError {
    pub(crate) fn data(section: Section, offset: usize, message: impl Into<String>) -> MmdbError {
        MmdbError::BadData {
            section,
            offset,
            message: message.into(),
        }
    }

    pub(crate) fn tree(node: u32, message: impl Into<String>) -> MmdbError {
        MmdbError::BadTree {
            node,
            message: message.into(),
        }
    }
}

impl fmt::Display for MmdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MmdbError::NoMetadata => {
                f.write_str("mmdb: no metadata marker in the last 128 KiB (not a MaxMind DB file?)")
            }
            MmdbError::BadMetadata(m) => write!(f, "mmdb metadata: {m}"),
            MmdbError::BadLayout(m) => write!(f, "mmdb layout: {m}"),
            MmdbError::BadTree { node, message } => {
                write!(f, "mmdb search tree node {node}: {message}")
            }
            MmdbError::BadData {
                section,
                offset,
                message,
            } => write!(f, "mmdb {section} offset {offset}: {message}"),
            MmdbError::LimitExceeded {
                section,
                offset,
                limit,
            } => write!(f, "mmdb {section} offset {offset}: refused: {limit}"),
            MmdbError::Ipv6InIpv4Database => {
                f.write_str("mmdb: cannot look up an IPv6 address in an IPv4 database")
            }
            MmdbError::NoKnownFields(t) => write!(
                f,
                "mmdb: no network maps to a field ipgeo reads (database type {t:?}; ipgeo reads the \
                 GeoIP2/GeoLite2 City, Country, ASN and ISP schemas and flat country/city schemas)"
            ),
        }
    }
}

impl std::error::Error for MmdbError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts() {
        assert_eq!(
            MmdbError::NoMetadata.to_string(),
            "mmdb: no metadata marker in the last 128 KiB (not a MaxMind DB file?)"
        );
        assert_eq!(
            MmdbError::BadMetadata("node_count is missing".into()).to_string(),
            "mmdb metadata: node_count is missing"
        );
        assert_eq!(
            MmdbError::BadLayout("x".into()).to_string(),
            "mmdb layout: x"
        );
        assert_eq!(
            MmdbError::tree(7, "is reachable twice").to_string(),
            "mmdb search tree node 7: is reachable twice"
        );
        assert_eq!(
            MmdbError::data(Section::Data, 12, "double of size 5").to_string(),
            "mmdb data section offset 12: double of size 5"
        );
        assert_eq!(
            MmdbError::data(Section::Metadata, 3, "x").to_string(),
            "mmdb metadata offset 3: x"
        );
        let lim = |limit| MmdbError::LimitExceeded {
            section: Section::Data,
            offset: 9,
            limit,
        };
        assert_eq!(
            lim(Limit::Depth(512)).to_string(),
            "mmdb data section offset 9: refused: values nested deeper than 512 levels"
        );
        assert_eq!(
            lim(Limit::Values(65536)).to_string(),
            "mmdb data section offset 9: refused: more than 65536 values in one record"
        );
        assert_eq!(
            lim(Limit::Payload(2097152)).to_string(),
            "mmdb data section offset 9: refused: more than 2097152 bytes of strings and bytes in one record"
        );
        assert_eq!(
            lim(Limit::FileWork(100)).to_string(),
            "mmdb data section offset 9: refused: more than 100 units of decoding work for the whole file (values plus string bytes)"
        );
        assert_eq!(
            lim(Limit::FieldLength(4096)).to_string(),
            "mmdb data section offset 9: refused: a mapped string longer than 4096 bytes"
        );
        assert_eq!(
            MmdbError::Ipv6InIpv4Database.to_string(),
            "mmdb: cannot look up an IPv6 address in an IPv4 database"
        );
    }
}
