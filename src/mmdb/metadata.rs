//! The metadata map at the end of an MMDB file.

use std::collections::BTreeMap;

use super::decode::{type_label, Decoder, Limits, Value};
use super::error::{MmdbError, Section};

/// The latest `build_epoch` accepted: 9999-12-31T23:59:59Z. Later values
/// cannot be shown as a date and are refused as corrupt (MaxMind's
/// `libmaxminddb-uint64-max-epoch.mmdb` holds `u64::MAX`).
pub const MAX_BUILD_EPOCH: u64 = 253_402_300_799;

/// The database's metadata, as the spec defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Major version of the binary format; always 2 (others are refused).
    pub binary_format_major_version: u16,
    /// Minor version of the binary format.
    pub binary_format_minor_version: u16,
    /// Build time, Unix seconds (at most [`MAX_BUILD_EPOCH`]).
    pub build_epoch: u64,
    /// The structure of the data records, e.g. `GeoIP2-City`.
    pub database_type: String,
    /// Descriptions by language (empty when the key is absent).
    pub description: BTreeMap<String, String>,
    /// 4 or 6.
    pub ip_version: u16,
    /// Locales names are given in (empty when the key is absent).
    pub languages: Vec<String>,
    /// Nodes in the search tree (at least 1).
    pub node_count: u32,
    /// Bits per search tree record: 24, 28 or 32.
    pub record_size: u16,
}

impl Metadata {
    /// The build date as `YYYY-MM-DD` (UTC).
    pub fn build_date(&self) -> String {
        let days = self.build_epoch / 86_400;
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Converts days since 1970-01-01 into a proleptic Gregorian date (Howard
/// Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

fn bad(m: impl Into<String>) -> MmdbError {
    MmdbError::BadMetadata(m.into())
}

fn uint(map: &Value<'_>, key: &str, max: u64) -> Result<u64, MmdbError> {
    let v = map
        .get(key)
        .ok_or_else(|| bad(format!("{key} is missing")))?;
    let n = v.as_u64().ok_or_else(|| {
        bad(format!(
            "{key} is {}, not an unsigned integer",
            v.type_name()
        ))
    })?;
    if n > max {
        return Err(bad(format!("{key} {n} is out of range")));
    }
    Ok(n)
}

/// Decodes and checks the metadata section (the bytes after the marker).
pub(crate) fn parse(section: &[u8]) -> Result<Metadata, MmdbError> {
    let mut decoder = Decoder::new(section, Section::Metadata, Limits::METADATA);
    let ty = decoder.type_at(0)?;
    if ty != 7 {
        let what = u8::try_from(ty).map_or("an unknown type", type_label);
        return Err(bad(format!("the metadata is {what}, not a map")));
    }
    let map = decoder.decode_root(0)?;
    let u16max = u64::from(u16::MAX);
    // The casts below are exact: `uint` checked the range.
    let major = uint(&map, "binary_format_major_version", u16max)? as u16;
    if major != 2 {
        return Err(bad(format!(
            "binary_format_major_version is {major}; only version 2 is supported"
        )));
    }
    let minor = uint(&map, "binary_format_minor_version", u16max)? as u16;
    let build_epoch = uint(&map, "build_epoch", u64::MAX)?;
    if build_epoch > MAX_BUILD_EPOCH {
        return Err(bad(format!(
            "build_epoch {build_epoch} is after the year 9999"
        )));
    }
    let database_type = match map.get("database_type") {
        None => return Err(bad("database_type is missing")),
        Some(Value::Str(s)) => (*s).to_string(),
        Some(v) => {
            return Err(bad(format!(
                "database_type is {}, not a string",
                v.type_name()
            )))
        }
    };
    let ip_version = uint(&map, "ip_version", u16max)? as u16;
    if ip_version != 4 && ip_version != 6 {
        return Err(bad(format!("ip_version is {ip_version}, not 4 or 6")));
    }
    let node_count = uint(&map, "node_count", u64::from(u32::MAX))? as u32;
    if node_count == 0 {
        return Err(bad("node_count is 0"));
    }
    let record_size = uint(&map, "record_size", u16max)? as u16;
    if !matches!(record_size, 24 | 28 | 32) {
        return Err(bad(format!(
            "record_size is {record_size}, not 24, 28 or 32"
        )));
    }
    let mut languages = Vec::new();
    match map.get("languages") {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                let s = item.as_str().ok_or_else(|| {
                    bad(format!(
                        "languages holds {}, not a string",
                        item.type_name()
                    ))
                })?;
                languages.push(s.to_string());
            }
        }
        Some(v) => return Err(bad(format!("languages is {}, not an array", v.type_name()))),
    }
    let mut description = BTreeMap::new();
    match map.get("description") {
        None => {}
        Some(Value::Map(entries)) => {
            for (lang, text) in entries {
                let s = text.as_str().ok_or_else(|| {
                    bad(format!(
                        "description {lang:?} is {}, not a string",
                        text.type_name()
                    ))
                })?;
                description
                    .entry((*lang).to_string())
                    .or_insert_with(|| s.to_string());
            }
        }
        Some(v) => return Err(bad(format!("description is {}, not a map", v.type_name()))),
    }
    Ok(Metadata {
        binary_format_major_version: major,
        binary_format_minor_version: minor,
        build_epoch,
        database_type,
        description,
        ip_version,
        languages,
        node_count,
        record_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(MAX_BUILD_EPOCH / 86_400), (9999, 12, 31));
    }

    /// Encodes a metadata map of `(key, encoded value)` pairs.
    fn meta(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = vec![0xe0 | pairs.len() as u8];
        for (k, v) in pairs {
            b.push(0x40 | k.len() as u8);
            b.extend(k.as_bytes());
            b.extend(*v);
        }
        b
    }

    const GOOD: [(&str, &[u8]); 7] = [
        ("binary_format_major_version", b"\xa1\x02"),
        ("binary_format_minor_version", b"\xa0"),
        ("build_epoch", b"\x04\x02\x65\x00\x00\x00"),
        ("database_type", b"\x44Test"),
        ("ip_version", b"\xa1\x06"),
        ("node_count", b"\xc1\x05"),
        ("record_size", b"\xa1\x1c"),
    ];

    fn with(key: &str, value: Option<&'static [u8]>) -> String {
        let mut pairs: Vec<(&str, &[u8])> =
            GOOD.iter().copied().filter(|(k, _)| *k != key).collect();
        if let Some(v) = value {
            pairs.push((key, v));
        }
        match parse(&meta(&pairs)) {
            Ok(m) => format!("ok {}", m.build_date()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn checks() {
        assert_eq!(with("", None), "ok 2023-09-12");
        let m = parse(&meta(&GOOD)).unwrap();
        assert_eq!((m.node_count, m.record_size, m.ip_version), (5, 28, 6));
        assert!(m.languages.is_empty() && m.description.is_empty());
        assert_eq!(
            with("node_count", None),
            "mmdb metadata: node_count is missing"
        );
        assert_eq!(
            with("node_count", Some(b"\xc0")),
            "mmdb metadata: node_count is 0"
        );
        assert_eq!(
            with("node_count", Some(b"\x41x")),
            "mmdb metadata: node_count is a string, not an unsigned integer"
        );
        assert_eq!(
            with("node_count", Some(b"\x05\x02\x01\0\0\0\0")),
            "mmdb metadata: node_count 4294967296 is out of range"
        );
        assert_eq!(
            with("record_size", Some(b"\xa1\x14")),
            "mmdb metadata: record_size is 20, not 24, 28 or 32"
        );
        assert_eq!(
            with("ip_version", Some(b"\xa1\x05")),
            "mmdb metadata: ip_version is 5, not 4 or 6"
        );
        assert_eq!(
            with("binary_format_major_version", Some(b"\xa1\x03")),
            "mmdb metadata: binary_format_major_version is 3; only version 2 is supported"
        );
        assert_eq!(
            with(
                "build_epoch",
                Some(b"\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff")
            ),
            "mmdb metadata: build_epoch 18446744073709551615 is after the year 9999"
        );
        assert_eq!(
            with("database_type", Some(b"\xa0")),
            "mmdb metadata: database_type is a uint16, not a string"
        );
        assert_eq!(
            with("languages", Some(b"\x01\x04\xa0")),
            "mmdb metadata: languages holds a uint16, not a string"
        );
        assert_eq!(
            with("languages", Some(b"\x41x")),
            "mmdb metadata: languages is a string, not an array"
        );
        assert_eq!(
            with("description", Some(b"\xe1\x42en\xa0")),
            "mmdb metadata: description \"en\" is a uint16, not a string"
        );
        assert_eq!(
            parse(b"\x01\x03\x05").unwrap_err().to_string(),
            "mmdb metadata: the metadata is a uint128, not a map"
        );
        assert_eq!(
            parse(b"\x01\x03").unwrap_err().to_string(),
            "mmdb metadata: the metadata is a uint128, not a map"
        );
        assert_eq!(
            parse(b"\x20\x00").unwrap_err().to_string(),
            "mmdb metadata: the metadata is a pointer, not a map"
        );
    }
}
