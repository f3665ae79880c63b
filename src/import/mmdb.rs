//! MaxMind DB importer: turns an MMDB file into a [`Source`].
//!
//! The tree is walked once ([`Mmdb::walk`]); each distinct data offset is
//! decoded once and mapped to one [`SourceRecord`] (two offsets whose mapped
//! values are equal, e.g. GeoIP2 records differing only in `geoname_id`,
//! give two equal records: the builder interns records anyway, so they are
//! not deduplicated here). Networks become inclusive intervals in ascending
//! order (adjacent networks with the same data offset are merged);
//! IPv4 networks of an IPv6 tree go to [`Source::v4`]. Aliases of the IPv4
//! root go to [`Source::aliases`], plus `::/96` when the database answers
//! `::a.b.c.d` from its IPv4 data ([`Mmdb::has_ipv4_subtree`]).
//!
//! Any structural problem anywhere (search tree, any record's encoding, a
//! resource limit) refuses the whole file. A record none of whose fields is
//! mapped still gets a record, an empty one, and its networks are listed: the
//! source covers them with "nothing known", and the builder decides what an
//! empty answer means.
//!
//! # Schema mapping
//!
//! | field | GeoIP2 / GeoLite2 (City, Country, Enterprise, ISP, ASN) | flat (DB-IP, ip-location-db) |
//! |---|---|---|
//! | `country_code` | `country.iso_code` | `country_code` |
//! | `country` | `country.names` | |
//! | `continent_code` | `continent.code` | |
//! | `continent` | `continent.names` | |
//! | `province` | `subdivisions[0].names` | `state1` |
//! | `province_code` | `subdivisions[0].iso_code` | |
//! | `city` | `city.names` | `city` (a string) |
//! | `postal_code` | `postal.code` | `postcode` |
//! | `latitude`, `longitude` | `location.latitude`, `.longitude` | `latitude`, `longitude` |
//! | `accuracy_radius` | `location.accuracy_radius` | |
//! | `timezone` | `location.time_zone` | `timezone` |
//! | `asn` | `autonomous_system_number`, `traits.autonomous_system_number` | same |
//! | `asn_org` | `autonomous_system_organization`, `traits.…` | same |
//! | `isp` | `isp`, `traits.isp` | same |
//! | `organization` | `organization`, `traits.organization` | same |
//!
//! Names (`…names`) are kept in the languages of
//! [`ImportOptions::languages`]; a flat, untagged name goes to
//! [`ImportOptions::default_lang`] if that language is in the list, else it
//! is dropped. Latitude and longitude keep the source's type (double as
//! `F64`, float as `F32`); integers go to `U32` when they fit. Empty strings
//! and values of an unexpected type are absent: nothing is invented.
//! Deliberately not mapped: `state2` (second-level subdivision),
//! `geoname_id`s, `registered_country` and `represented_country` (a
//! registration, not a location: using it as `country` would invent a
//! location), `subdivisions[1..]`, `traits.is_*` flags.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::ImportOptions;
use crate::field::{Field, Value as FieldValue};
use crate::mmdb::{Entry, Limit, Limits, Mmdb, MmdbError, Section, Value};
use crate::source::{Alias, Interval, Source, SourceRecord};

pub(crate) type OffsetMap<V> = HashMap<u32, V, BuildHasherDefault<super::OffsetHasher>>;

/// Decoding work allowed per byte of file, for the whole import. Each record
/// is decoded once, under [`Limits::RECORD`]; this bounds the sum, so that
/// a file of many distinct records that each share a large pointer target
/// cannot make the import do (or copy) more than a fixed multiple of its
/// size. GeoLite2-City needs 4.6 units per byte, DB-IP 0.5.
pub const WORK_PER_BYTE: u64 = 32;

/// Decoding work allowed on top of [`WORK_PER_BYTE`], so that small files
/// may hold records at the per-record limits.
pub const WORK_BASE: u64 = 16 << 20;

/// The longest string copied into a record. Real names, codes and
/// organisations are far shorter; a longer one means a corrupt or hostile
/// file, which is refused rather than truncated.
pub const MAX_FIELD_BYTES: usize = 4096;

/// Imports an MMDB file.
///
/// # Errors
/// Any [`MmdbError`] met while opening the file, walking its tree or
/// decoding any of its records: the file is refused as a whole. Beyond the
/// per-record limits, [`MmdbError::LimitExceeded`] with
/// [`Limit::FileWork`] if decoding all records takes more than
/// [`WORK_PER_BYTE`] units per byte of file plus [`WORK_BASE`], and with
/// [`Limit::FieldLength`] if a mapped string is longer than
/// [`MAX_FIELD_BYTES`].
pub fn import_mmdb(bytes: &[u8], opts: &ImportOptions) -> Result<Source, MmdbError> {
    let db = Mmdb::from_source(bytes)?;
    let meta = db.metadata();
    let mut src = Source {
        name: opts.name.clone(),
        format: "mmdb".into(),
        description: format!("{} built {}", meta.database_type, meta.build_date()),
        ..Source::default()
    };
    let mapper = Mapper::new(opts);
    // Work (values plus string bytes) allowed for the whole file.
    let max_work = (bytes.len() as u64)
        .saturating_mul(WORK_PER_BYTE)
        .saturating_add(WORK_BASE);
    let mut work = 0u64;
    let refuse = |offset: u32, limit: Limit| MmdbError::LimitExceeded {
        section: Section::Data,
        offset: offset as usize,
        limit,
    };
    let mut by_offset: OffsetMap<u32> = OffsetMap::default();
    // Neighbouring networks often share a record.
    let mut last: Option<(u32, u32)> = None;
    for entry in db.walk() {
        match entry? {
            Entry::Network {
                v6,
                start,
                prefix_len,
                data,
            } => {
                let cached = match last {
                    Some((off, r)) if off == data => Some(r),
                    _ => by_offset.get(&data).copied(),
                };
                let rec = match cached {
                    Some(r) => r,
                    None => {
                        let value = db.decode_counting(data, Limits::RECORD, &mut work)?;
                        if work > max_work {
                            return Err(refuse(data, Limit::FileWork(max_work)));
                        }
                        let record = mapper.map(&value);
                        let long = |(_, _, v): &(Field, Option<u8>, FieldValue)| {
                            v.as_str().is_some_and(|s| s.len() > MAX_FIELD_BYTES)
                        };
                        if record.values.iter().any(long) {
                            return Err(refuse(data, Limit::FieldLength(MAX_FIELD_BYTES)));
                        }
                        // At most one record per data offset, so fewer than 2^32.
                        let r = src.records.len() as u32;
                        src.records.push(record);
                        by_offset.insert(data, r);
                        r
                    }
                };
                last = Some((data, rec));
                let bits: u32 = if v6 { 128 } else { 32 };
                let host = (u128::MAX >> (128 - bits))
                    .checked_shr(u32::from(prefix_len))
                    .unwrap_or(0);
                let list = if v6 { &mut src.v6 } else { &mut src.v4 };
                push_interval(list, start, start | host, rec);
            }
            Entry::Alias { start, prefix_len } => src.aliases.push(Alias {
                prefix: start,
                len: prefix_len,
            }),
        }
    }
    let mut used = vec![false; src.records.len()];
    for iv in src.v4.iter().chain(&src.v6) {
        used[iv.rec as usize] = true;
    }
    if !src
        .records
        .iter()
        .zip(&used)
        .any(|(r, u)| *u && !r.is_empty())
    {
        return Err(MmdbError::NoKnownFields(
            db.metadata().database_type.clone(),
        ));
    }
    if db.has_ipv4_subtree() {
        src.aliases.push(Alias { prefix: 0, len: 96 });
    }
    src.aliases.sort_unstable();
    src.aliases.dedup();
    Ok(src)
}

/// Appends an interval, merging it into the last one when they touch and
/// share the record.
fn push_interval(list: &mut Vec<Interval>, start: u128, end: u128, rec: u32) {
    if let Some(last) = list.last_mut() {
        if last.rec == rec && last.end.checked_add(1) == Some(start) {
            last.end = end;
            return;
        }
    }
    list.push(Interval { start, end, rec });
}

/// Maps decoded MMDB records to [`SourceRecord`]s.
struct Mapper<'o> {
    opts: &'o ImportOptions,
    /// Language index of untagged names, if kept.
    default_lang: Option<u8>,
}

impl<'o> Mapper<'o> {
    fn new(opts: &'o ImportOptions) -> Mapper<'o> {
        Mapper {
            opts,
            default_lang: opts.lang_index(&opts.default_lang),
        }
    }

    /// Maps one record in a single pass over its keys. Values from the
    /// GeoIP2 layout (and top-level ASN/ISP keys) go to `r`, the flat and
    /// `traits` alternatives to `alt`; `alt` is appended after `r`, and
    /// [`SourceRecord::normalize`] keeps the first value of each field.
    fn map(&self, v: &Value<'_>) -> SourceRecord {
        let mut r = SourceRecord::default();
        let mut alt = SourceRecord::default();
        let Some(top) = v.as_map() else {
            return r;
        };
        for (key, val) in top {
            match *key {
                "country" => {
                    for (k, x) in entries(val) {
                        match *k {
                            "iso_code" => text(&mut r, Field::CountryCode, x),
                            "names" => self.names(&mut r, Field::Country, x),
                            _ => {}
                        }
                    }
                }
                "country_code" => text(&mut alt, Field::CountryCode, val),
                "continent" => {
                    for (k, x) in entries(val) {
                        match *k {
                            "code" => text(&mut r, Field::ContinentCode, x),
                            "names" => self.names(&mut r, Field::Continent, x),
                            _ => {}
                        }
                    }
                }
                "subdivisions" => {
                    let first = val.as_array().and_then(|a| a.first());
                    for (k, x) in first.map_or(&[][..], entries) {
                        match *k {
                            "iso_code" => text(&mut r, Field::ProvinceCode, x),
                            "names" => self.names(&mut r, Field::Province, x),
                            _ => {}
                        }
                    }
                }
                "state1" => self.flat_name(&mut alt, Field::Province, val),
                "city" => match val {
                    Value::Str(_) => self.flat_name(&mut alt, Field::City, val),
                    _ => {
                        for (k, x) in entries(val) {
                            if *k == "names" {
                                self.names(&mut r, Field::City, x);
                            }
                        }
                    }
                },
                "postal" => {
                    for (k, x) in entries(val) {
                        if *k == "code" {
                            text(&mut r, Field::PostalCode, x);
                        }
                    }
                }
                "postcode" => text(&mut alt, Field::PostalCode, val),
                "location" => {
                    for (k, x) in entries(val) {
                        match *k {
                            "latitude" => float(&mut r, Field::Latitude, x),
                            "longitude" => float(&mut r, Field::Longitude, x),
                            "accuracy_radius" => int(&mut r, Field::AccuracyRadius, x),
                            "time_zone" => text(&mut r, Field::Timezone, x),
                            _ => {}
                        }
                    }
                }
                "latitude" => float(&mut alt, Field::Latitude, val),
                "longitude" => float(&mut alt, Field::Longitude, val),
                "timezone" => text(&mut alt, Field::Timezone, val),
                "traits" => {
                    for (k, x) in entries(val) {
                        network_field(&mut alt, k, x);
                    }
                }
                _ => network_field(&mut r, key, val),
            }
        }
        r.values.append(&mut alt.values);
        r.normalize();
        r
    }

    /// A `names` map: one value per kept language.
    fn names(&self, r: &mut SourceRecord, field: Field, names: &Value<'_>) {
        for (lang, name) in entries(names) {
            if let (Some(i), Value::Str(s)) = (self.opts.lang_index(lang), name) {
                r.push(field, Some(i), FieldValue::Str((*s).into()));
            }
        }
    }

    /// An untagged name, kept in the default language if that is kept.
    fn flat_name(&self, r: &mut SourceRecord, field: Field, name: &Value<'_>) {
        if let (Some(i), Value::Str(s)) = (self.default_lang, name) {
            r.push(field, Some(i), FieldValue::Str((*s).into()));
        }
    }
}

/// The entries of a map (none for another type).
fn entries<'v, 'a>(v: &'v Value<'a>) -> &'v [(&'a str, Value<'a>)] {
    v.as_map().unwrap_or(&[])
}

fn text(r: &mut SourceRecord, field: Field, v: &Value<'_>) {
    if let Value::Str(s) = v {
        r.push(field, None, FieldValue::Str((*s).into()));
    }
}

/// A double or a float, keeping its type.
fn float(r: &mut SourceRecord, field: Field, v: &Value<'_>) {
    match *v {
        Value::F64(x) => r.push(field, None, FieldValue::F64(x)),
        Value::F32(x) => r.push(field, None, FieldValue::F32(x)),
        _ => {}
    }
}

/// An integer that fits `u32`.
fn int(r: &mut SourceRecord, field: Field, v: &Value<'_>) {
    if let Some(n) = v.as_u64().and_then(|n| u32::try_from(n).ok()) {
        r.push(field, None, FieldValue::U32(n));
    }
}

/// The ASN, ISP and organisation keys, at the top level or in `traits`.
fn network_field(r: &mut SourceRecord, key: &str, v: &Value<'_>) {
    match key {
        "autonomous_system_number" => int(r, Field::Asn, v),
        "autonomous_system_organization" => text(r, Field::AsnOrg, v),
        "isp" => text(r, Field::Isp, v),
        "organization" => text(r, Field::Organization, v),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ImportOptions {
        ImportOptions::default()
    }

    #[test]
    fn maps_geoip2_shape() {
        let v = Value::Map(vec![
            (
                "country",
                Value::Map(vec![
                    ("iso_code", Value::Str("CN")),
                    (
                        "names",
                        Value::Map(vec![
                            ("en", Value::Str("China")),
                            ("zh-CN", Value::Str("中国")),
                            ("de", Value::Str("China")),
                        ]),
                    ),
                ]),
            ),
            (
                "subdivisions",
                Value::Array(vec![Value::Map(vec![
                    ("iso_code", Value::Str("ZJ")),
                    ("names", Value::Map(vec![("en", Value::Str("Zhejiang"))])),
                ])]),
            ),
            (
                "location",
                Value::Map(vec![
                    ("latitude", Value::F64(30.5)),
                    ("longitude", Value::F32(120.5)),
                    ("accuracy_radius", Value::U16(50)),
                    ("time_zone", Value::Str("")),
                ]),
            ),
            (
                "traits",
                Value::Map(vec![("autonomous_system_number", Value::U32(4134))]),
            ),
            (
                "registered_country",
                Value::Map(vec![("iso_code", Value::Str("US"))]),
            ),
        ]);
        let r = Mapper::new(&opts()).map(&v);
        assert_eq!(
            r.get(Field::CountryCode, None).and_then(|v| v.as_str()),
            Some("CN")
        );
        assert_eq!(
            r.get(Field::Country, Some(0)).and_then(|v| v.as_str()),
            Some("China")
        );
        assert_eq!(
            r.get(Field::Country, Some(1)).and_then(|v| v.as_str()),
            Some("中国")
        );
        assert_eq!(
            r.get(Field::Province, Some(0)).and_then(|v| v.as_str()),
            Some("Zhejiang")
        );
        assert_eq!(
            r.get(Field::ProvinceCode, None).and_then(|v| v.as_str()),
            Some("ZJ")
        );
        assert_eq!(r.get(Field::Latitude, None), Some(&FieldValue::F64(30.5)));
        assert_eq!(r.get(Field::Longitude, None), Some(&FieldValue::F32(120.5)));
        assert_eq!(
            r.get(Field::AccuracyRadius, None),
            Some(&FieldValue::U32(50))
        );
        assert_eq!(r.get(Field::Asn, None), Some(&FieldValue::U32(4134)));
        assert_eq!(r.get(Field::Timezone, None), None);
        assert_eq!(r.values.len(), 9);
    }

    #[test]
    fn maps_flat_shape() {
        let v = Value::Map(vec![
            ("country_code", Value::Str("AU")),
            ("state1", Value::Str("Queensland")),
            ("state2", Value::Str("x")),
            ("city", Value::Str("Brisbane")),
            ("postcode", Value::Str("")),
            ("latitude", Value::F32(-27.5)),
            ("timezone", Value::Str("Australia/Brisbane")),
        ]);
        let r = Mapper::new(&opts()).map(&v);
        assert_eq!(
            r.get(Field::City, Some(0)).and_then(|v| v.as_str()),
            Some("Brisbane")
        );
        assert_eq!(
            r.get(Field::Province, Some(0)).and_then(|v| v.as_str()),
            Some("Queensland")
        );
        assert_eq!(r.get(Field::PostalCode, None), None);
        assert_eq!(r.get(Field::Latitude, None), Some(&FieldValue::F32(-27.5)));
        assert_eq!(r.values.len(), 5);
        // A default language outside the list drops untagged names.
        let o = ImportOptions {
            default_lang: "fr".into(),
            ..opts()
        };
        let r = Mapper::new(&o).map(&v);
        assert_eq!(r.get(Field::City, Some(0)), None);
        assert_eq!(r.values.len(), 3);
        // Untagged names in zh-CN when that is the default language.
        let o = ImportOptions {
            default_lang: "zh-CN".into(),
            ..opts()
        };
        let r = Mapper::new(&o).map(&v);
        assert_eq!(
            r.get(Field::City, Some(1)).and_then(|v| v.as_str()),
            Some("Brisbane")
        );
    }

    #[test]
    fn total_work_is_bounded() {
        use crate::mmdb::testutil::complete_tree;
        // A 4000-byte string at offset 0, then 512 distinct records, each an
        // array of `k` pointers to it: about k * 4000 units of work each.
        let file = |k: usize| {
            let mut data = vec![0x5e];
            data.extend((4000u16 - 285).to_be_bytes());
            data.extend(std::iter::repeat_n(b'x', 4000));
            let mut leaves = Vec::new();
            for _ in 0..512 {
                leaves.push(data.len() as u32);
                data.extend([k as u8, 0x04]);
                for _ in 0..k {
                    data.extend([0x20, 0x00]);
                }
            }
            complete_tree(9, &leaves, &data)
        };
        // 512 * 4 * 4000 = 8 MB of work: fine (every record decodes; the
        // records, arrays, carry no field ipgeo reads, so the import then
        // stops for that reason alone).
        match import_mmdb(&file(4), &opts()) {
            Err(MmdbError::NoKnownFields(_)) => {}
            other => panic!("{other:?}"),
        }
        // 512 * 16 * 4000 = 32 MB from a 40 kB file: refused.
        let bytes = file(16);
        let e = import_mmdb(&bytes, &opts()).unwrap_err();
        let max = bytes.len() as u64 * WORK_PER_BYTE + WORK_BASE;
        assert!(
            matches!(e, MmdbError::LimitExceeded { limit: Limit::FileWork(m), .. } if m == max),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with("units of decoding work for the whole file (values plus string bytes)"),
            "{e}"
        );
    }

    #[test]
    fn long_strings_are_refused() {
        use crate::mmdb::testutil::build;
        let file = |len: usize| {
            // {"city": "xxx…"} for the whole IPv4 space.
            let mut data = vec![0xe1, 0x44, b'c', b'i', b't', b'y', 0x5e];
            data.extend(((len - 285) as u16).to_be_bytes());
            data.extend(std::iter::repeat_n(b'x', len));
            build(4, 24, &[(17, 17)], &data)
        };
        let src = import_mmdb(&file(MAX_FIELD_BYTES), &opts()).unwrap();
        assert_eq!(
            src.records[0]
                .get(Field::City, Some(0))
                .and_then(FieldValue::as_str)
                .map(str::len),
            Some(4096)
        );
        assert_eq!(
            import_mmdb(&file(MAX_FIELD_BYTES + 1), &opts())
                .unwrap_err()
                .to_string(),
            "mmdb data section offset 0: refused: a mapped string longer than 4096 bytes"
        );
    }

    #[test]
    fn intervals_merge() {
        let mut l = Vec::new();
        push_interval(&mut l, 0, 9, 1);
        push_interval(&mut l, 10, 19, 1);
        push_interval(&mut l, 20, 29, 2);
        push_interval(&mut l, 31, 40, 2);
        assert_eq!(
            l,
            vec![
                Interval {
                    start: 0,
                    end: 19,
                    rec: 1
                },
                Interval {
                    start: 20,
                    end: 29,
                    rec: 2
                },
                Interval {
                    start: 31,
                    end: 40,
                    rec: 2
                }
            ]
        );
    }
}
