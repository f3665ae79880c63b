//! What importers produce: one source database, decoded into ranges and
//! records that the builder merges into a table.

use crate::field::{Field, Value};

/// One decoded record of a source: its field values.
///
/// `values` holds at most one value per `(field, language)`; `lang` is an
/// index into the builder's language list and is `Some` only for name fields.
/// Absent fields are simply not listed: importers never invent placeholder
/// values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SourceRecord {
    /// `(field, language index, value)`, sorted by field then language.
    pub values: Vec<(Field, Option<u8>, Value)>,
}

impl SourceRecord {
    /// Adds a value. An empty string is treated as absent and dropped.
    pub fn push(&mut self, field: Field, lang: Option<u8>, value: Value) {
        if let Value::Str(s) = &value {
            if s.is_empty() {
                return;
            }
        }
        debug_assert!(lang.is_none() || field.is_name());
        self.values.push((field, lang, value));
    }

    /// Sorts the values into canonical order and drops duplicates (the first
    /// value pushed for a `(field, lang)` wins).
    pub fn normalize(&mut self) {
        self.values.sort_by_key(|(f, l, _)| (*f, *l));
        self.values.dedup_by_key(|(f, l, _)| (*f, *l));
    }

    /// The value of a non-name field, or of a name in one language.
    pub fn get(&self, field: Field, lang: Option<u8>) -> Option<&Value> {
        self.values
            .iter()
            .find(|(f, l, _)| *f == field && *l == lang)
            .map(|(_, _, v)| v)
    }

    /// Whether the record has no values at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// An inclusive address range of one family mapped to a source record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// First address (IPv4 addresses use the low 32 bits).
    pub start: u128,
    /// Last address, inclusive.
    pub end: u128,
    /// Index into [`Source::records`].
    pub rec: u32,
}

/// An IPv6 prefix whose addresses are answered from the IPv4 table, the
/// IPv4 address being the 32 bits that follow the prefix. MaxMind databases
/// alias `::ffff:0:0/96`, `2001::/32` (Teredo) and `2002::/16` (6to4) this way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alias {
    /// The prefix's first address.
    pub prefix: u128,
    /// Prefix length in bits, at most 96.
    pub len: u8,
}

impl Alias {
    /// The IPv4-mapped prefix `::ffff:0:0/96`, present in every table.
    pub const MAPPED: Alias = Alias {
        prefix: 0xffff_0000_0000,
        len: 96,
    };
}

/// A decoded source database.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// Short name of the source, used in metadata and `--explain`.
    pub name: String,
    /// Format of the file it came from, e.g. `mmdb`, `csv`.
    pub format: String,
    /// Free-form description of the source (database type, build date).
    pub description: String,
    /// Distinct records; intervals refer to them by index.
    pub records: Vec<SourceRecord>,
    /// IPv4 intervals (in the low 32 bits of `start`/`end`).
    pub v4: Vec<Interval>,
    /// IPv6 intervals.
    pub v6: Vec<Interval>,
    /// IPv6 prefixes that the source answers from its IPv4 data.
    pub aliases: Vec<Alias>,
}

impl Source {
    /// The record the source gives `a` (an IPv4 address in the low 32 bits
    /// when `v6` is false), following its aliases for IPv6; a plain search
    /// of the intervals, for checks against a built table.
    pub fn record_at(&self, v6: bool, a: u128) -> Option<&SourceRecord> {
        let find = |ivs: &[Interval], a: u128| {
            let i = ivs.partition_point(|iv| iv.start <= a).checked_sub(1)?;
            (ivs[i].end >= a).then_some(ivs[i].rec)
        };
        let rec =
            if v6 {
                match self.aliases.iter().find(|al| {
                    a >> (128 - u32::from(al.len)) == al.prefix >> (128 - u32::from(al.len))
                }) {
                    Some(al) => find(&self.v4, (a >> (96 - u32::from(al.len))) & 0xFFFF_FFFF),
                    None => find(&self.v6, a),
                }
            } else {
                find(&self.v4, a)
            };
        rec.and_then(|r| self.records.get(r as usize))
    }
}
