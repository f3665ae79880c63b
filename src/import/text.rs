//! Text sources: CSV range files and CIDR lists.
//!
//! **CSV.** The first row names the columns, unless the input gives them
//! (`columns=`). Addresses come either from a `network` column (CIDR, or a
//! single address) or from a `start` and an `end` column (inclusive; also
//! accepted: `ip_start`/`ip_end`, `start_ip`/`end_ip`, `first`/`last`,
//! `ip_range_start`/`ip_range_end`). Every other column is a field by its
//! name (`country_code`, `city`, …), a name in one language as
//! `city@zh-CN`, or is ignored when named `-` or empty. Empty cells are
//! absent values. Lines starting with `#` are comments. Ranges may overlap:
//! the builder lets the most specific answer.
//!
//! **CIDR list.** One network per line (`1.0.1.0/24`, `2001:db8::/32`, a
//! single address, or `first - last`), `#` comments and blank lines ignored.
//! Every network gets the same record, made of the constant fields the input
//! gives (`cn.txt?country_code=CN`).

use std::net::IpAddr;

use super::{ImportError, ImportOptions};
use crate::field::{Field, FieldKind, Value};
use crate::source::{Interval, Source, SourceRecord};

/// Parses an address, a network or an inclusive range into
/// `(is_v6, first, last)`.
///
/// # Errors
/// A message naming what is wrong with the text.
pub fn parse_range(text: &str) -> Result<(bool, u128, u128), String> {
    let text = text.trim();
    if let Some((a, b)) = text.split_once(" - ").or_else(|| text.split_once('-')) {
        let (v6a, a) = parse_addr(a.trim())?;
        let (v6b, b) = parse_addr(b.trim())?;
        if v6a != v6b {
            return Err(format!("range {text:?} mixes IPv4 and IPv6"));
        }
        if a > b {
            return Err(format!("range {text:?} ends before it starts"));
        }
        return Ok((v6a, a, b));
    }
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let (v6, a) = parse_addr(addr)?;
    let bits: u32 = if v6 { 128 } else { 32 };
    let len = match len {
        None => bits,
        Some(l) => Some(l)
            .filter(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|l| l.parse::<u32>().ok())
            .filter(|l| *l <= bits)
            .ok_or_else(|| format!("bad prefix length in {text:?}"))?,
    };
    let host: u128 = if len == bits {
        0
    } else {
        (u128::MAX >> (128 - bits)) >> len
    };
    if a & host != 0 {
        return Err(format!("{text:?} has host bits set"));
    }
    Ok((v6, a, a | host))
}

fn parse_addr(s: &str) -> Result<(bool, u128), String> {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok((false, u128::from(u32::from(a)))),
        Ok(IpAddr::V6(a)) => Ok((true, u128::from(a))),
        Err(_) => Err(format!("{s:?} is not an IP address")),
    }
}

/// Parses one cell into a field value. Empty means absent.
fn parse_value(field: Field, text: &str) -> Result<Option<Value>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Ok(Some(match field.kind() {
        FieldKind::Str | FieldKind::Name => Value::Str(t.into()),
        FieldKind::U32 => {
            let digits = if field == Field::Asn {
                t.strip_prefix("AS")
                    .or_else(|| t.strip_prefix("as"))
                    .unwrap_or(t)
            } else {
                t
            };
            Value::U32(
                digits
                    .parse()
                    .map_err(|_| format!("{field}: {t:?} is not an unsigned integer"))?,
            )
        }
        FieldKind::Float => {
            let v: f64 = t
                .parse()
                .map_err(|_| format!("{field}: {t:?} is not a number"))?;
            if !v.is_finite() {
                return Err(format!("{field}: {t:?} is not a finite number"));
            }
            Value::F64(v)
        }
    }))
}

/// Resolves a column or option name (`city`, `city@zh-CN`) to a field and
/// language index.
pub(crate) fn column_field(
    name: &str,
    opts: &ImportOptions,
) -> Result<Option<(Field, Option<u8>)>, String> {
    let (fname, lang) = match name.split_once('@') {
        Some((f, l)) => (f, Some(l)),
        None => (name, None),
    };
    let Some(field) = Field::from_name(fname) else {
        return Err(format!("unknown field {fname:?}"));
    };
    if !field.is_name() {
        if lang.is_some() {
            return Err(format!("field {fname} is not a name and takes no language"));
        }
        return Ok(Some((field, None)));
    }
    let lang = lang.unwrap_or(&opts.default_lang);
    // A name in a language the table does not keep is dropped.
    Ok(opts.lang_index(lang).map(|l| (field, Some(l))))
}

enum Col {
    Network,
    Start,
    End,
    Skip,
    Field(Field, Option<u8>),
}

/// Imports a CSV range file.
///
/// # Errors
/// [`ImportError`] naming the line and column of the first bad cell.
pub fn import_csv(
    bytes: &[u8],
    opts: &ImportOptions,
    columns: Option<&str>,
    constants: &SourceRecord,
) -> Result<Source, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(columns.is_none())
        .comment(Some(b'#'))
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = match columns {
        Some(c) => c.split(',').map(|s| s.trim().to_string()).collect(),
        None => rdr
            .headers()
            .map_err(|e| ImportError::new(&opts.name, format!("header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect(),
    };
    let mut cols = Vec::with_capacity(header.len());
    for h in &header {
        cols.push(match h.as_str() {
            "network" | "cidr" | "prefix" => Col::Network,
            "start" | "ip_start" | "start_ip" | "first" | "ip_range_start" => Col::Start,
            "end" | "ip_end" | "end_ip" | "last" | "ip_range_end" => Col::End,
            "" | "-" => Col::Skip,
            name => match column_field(name, opts)
                .map_err(|e| ImportError::new(&opts.name, format!("column {name:?}: {e}")))?
            {
                Some((f, l)) => Col::Field(f, l),
                None => Col::Skip,
            },
        });
    }
    let has = |want: fn(&Col) -> bool| cols.iter().filter(|c| want(c)).count();
    let (n_net, n_start, n_end) = (
        has(|c| matches!(c, Col::Network)),
        has(|c| matches!(c, Col::Start)),
        has(|c| matches!(c, Col::End)),
    );
    if !((n_net == 1 && n_start == 0 && n_end == 0) || (n_net == 0 && n_start == 1 && n_end == 1)) {
        return Err(ImportError::new(
            &opts.name,
            "the columns must include either one `network` column or one `start` and one `end` column",
        ));
    }
    let mut src = new_source(opts, "csv");
    let mut index: std::collections::HashMap<SourceRecord, u32> = std::collections::HashMap::new();
    let mut row = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ImportError::new(&opts.name, e.to_string())),
        }
        let line = row.position().map_or(0, |p| p.line());
        let at = |msg: String| ImportError::new(&opts.name, format!("line {line}: {msg}"));
        let mut net = None;
        let (mut start, mut end) = (None, None);
        let mut rec = constants.clone();
        for (cell, col) in row.iter().zip(&cols) {
            match col {
                Col::Network => net = Some(parse_range(cell).map_err(at)?),
                Col::Start => start = Some(parse_addr(cell).map_err(at)?),
                Col::End => end = Some(parse_addr(cell).map_err(at)?),
                Col::Skip => {}
                Col::Field(f, l) => {
                    if let Some(v) = parse_value(*f, cell).map_err(&at)? {
                        rec.values.retain(|(g, m, _)| !(g == f && m == l));
                        rec.push(*f, *l, v);
                    }
                }
            }
        }
        let (v6, s, e) = match (net, start, end) {
            (Some(n), _, _) => n,
            (None, Some((v6a, s)), Some((v6b, e))) => {
                if v6a != v6b {
                    return Err(at("start and end are of different families".into()));
                }
                if s > e {
                    return Err(at("end is before start".into()));
                }
                (v6a, s, e)
            }
            _ => return Err(at("no address".into())),
        };
        rec.normalize();
        push_interval(&mut src, &mut index, v6, s, e, rec);
    }
    Ok(src)
}

/// Imports a CIDR list; every network gets the record `constants`.
///
/// # Errors
/// [`ImportError`] naming the line of the first bad network, or if
/// `constants` is empty.
pub fn import_cidr_list(
    bytes: &[u8],
    opts: &ImportOptions,
    constants: &SourceRecord,
) -> Result<Source, ImportError> {
    if constants.is_empty() {
        return Err(ImportError::new(
            &opts.name,
            "a CIDR list needs fields to give its networks, e.g. `list.txt?country_code=CN`",
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ImportError::new(&opts.name, format!("not UTF-8: {e}")))?;
    let mut src = new_source(opts, "cidr");
    src.records.push(constants.clone());
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (v6, s, e) = parse_range(line)
            .map_err(|m| ImportError::new(&opts.name, format!("line {}: {m}", n + 1)))?;
        let list = if v6 { &mut src.v6 } else { &mut src.v4 };
        list.push(Interval {
            start: s,
            end: e,
            rec: 0,
        });
    }
    Ok(src)
}

fn new_source(opts: &ImportOptions, format: &str) -> Source {
    Source {
        name: opts.name.clone(),
        format: format.into(),
        ..Source::default()
    }
}

fn push_interval(
    src: &mut Source,
    index: &mut std::collections::HashMap<SourceRecord, u32>,
    v6: bool,
    start: u128,
    end: u128,
    rec: SourceRecord,
) {
    let id = match index.get(&rec) {
        Some(&id) => id,
        None => {
            let id = src.records.len() as u32;
            index.insert(rec.clone(), id);
            src.records.push(rec);
            id
        }
    };
    let list = if v6 { &mut src.v6 } else { &mut src.v4 };
    list.push(Interval {
        start,
        end,
        rec: id,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            parse_range("1.2.3.0/24"),
            Ok((false, 0x0102_0300, 0x0102_03FF))
        );
        assert_eq!(
            parse_range("1.2.3.4"),
            Ok((false, 0x0102_0304, 0x0102_0304))
        );
        assert_eq!(parse_range("0.0.0.0/0"), Ok((false, 0, 0xFFFF_FFFF)));
        assert_eq!(
            parse_range("1.0.0.0 - 1.0.0.9"),
            Ok((false, 0x0100_0000, 0x0100_0009))
        );
        assert_eq!(parse_range("::/0"), Ok((true, 0, u128::MAX)));
        assert_eq!(
            parse_range("2001:db8::/32").unwrap().2,
            (0x2001_0db9u128 << 96) - 1
        );
        assert!(parse_range("1.2.3.4/24").unwrap_err().contains("host bits"));
        assert!(parse_range("1.2.3.0/33")
            .unwrap_err()
            .contains("prefix length"));
        assert!(parse_range("01.2.3.0/24")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(parse_range("1.0.0.9-1.0.0.1")
            .unwrap_err()
            .contains("ends before"));
        assert!(parse_range("1.0.0.1-::1").unwrap_err().contains("mixes"));
    }

    #[test]
    fn csv_with_header_and_overlaps() {
        let csv = b"network,country_code,city,city@zh-CN,asn,latitude\n\
                    # a comment\n\
                    1.0.0.0/8,AU,,,AS13335,-33.5\n\
                    1.1.1.0/24,AU,Sydney,\xe6\x82\x89\xe5\xb0\xbc,13335,\n\
                    2001:db8::/32,XX,,,,\n";
        let opts = ImportOptions::default();
        let src = import_csv(csv, &opts, None, &SourceRecord::default()).unwrap();
        assert_eq!(src.v4.len(), 2);
        assert_eq!(src.v6.len(), 1);
        let r = &src.records[src.v4[1].rec as usize];
        assert_eq!(
            r.get(Field::City, Some(0)).unwrap().as_str(),
            Some("Sydney")
        );
        assert_eq!(r.get(Field::City, Some(1)).unwrap().as_str(), Some("悉尼"));
        assert_eq!(r.get(Field::Asn, None), Some(&Value::U32(13335)));
        let r0 = &src.records[src.v4[0].rec as usize];
        assert_eq!(r0.get(Field::Latitude, None), Some(&Value::F64(-33.5)));
        assert!(r0.get(Field::City, Some(0)).is_none());
    }

    #[test]
    fn csv_errors_name_the_line() {
        let opts = ImportOptions::default();
        let e = import_csv(
            b"network,country_code\n1.0.0.0/8,AU\nbogus,AU\n",
            &opts,
            None,
            &SourceRecord::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "source: line 3: \"bogus\" is not an IP address"
        );
        let e = import_csv(b"network,colour\n", &opts, None, &SourceRecord::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "source: column \"colour\": unknown field \"colour\""
        );
        let e =
            import_csv(b"country_code\nAU\n", &opts, None, &SourceRecord::default()).unwrap_err();
        assert!(e.to_string().contains("`network`"));
        let e = import_csv(
            b"start,end,asn\n1.0.0.0,1.0.0.9,x\n",
            &opts,
            None,
            &SourceRecord::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "source: line 2: asn: \"x\" is not an unsigned integer"
        );
    }

    #[test]
    fn cidr_list() {
        let mut c = SourceRecord::default();
        c.push(Field::CountryCode, None, Value::Str("CN".into()));
        let src = import_cidr_list(
            b"# China\n1.0.1.0/24\n\n240e::/20 # v6\n",
            &ImportOptions::default(),
            &c,
        )
        .unwrap();
        assert_eq!(src.v4.len(), 1);
        assert_eq!(src.v6.len(), 1);
        let e = import_cidr_list(
            b"1.0.1.0/24\n",
            &ImportOptions::default(),
            &SourceRecord::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs fields"));
        let e = import_cidr_list(b"1.0.1.0/24\nxx\n", &ImportOptions::default(), &c).unwrap_err();
        assert_eq!(e.to_string(), "source: line 2: \"xx\" is not an IP address");
    }
}
