//! Importers: read a source database into a [`Source`].
//!
//! [`InputSpec`] describes one input on the command line or in a build
//! file: `[NAME=]PATH[?key=value&key=value...]`. The format is taken from
//! the `format` key, else from the file's contents and extension. Keys:
//!
//! | key | meaning |
//! |---|---|
//! | `format` | `mmdb`, `csv`, `cidr`, `xdb` (ip2region) or `ipdb` (IPIP.net) |
//! | `lang` | language of names that carry no language tag (default `en`; `zh-CN` for `xdb` and `ipdb`, whose names are Chinese) |
//! | `columns` | CSV: column names, comma-separated, for a file without a header row |
//! | `codes` | `true` (default): add country codes from names and GB/T 2260 codes for Chinese provinces, cities and districts ([`crate::cn::enrich`]); `false`: keep the source's values only |
//! | any field name, e.g. `country_code` | a constant value given to every record (CSV, CIDR list) |

pub mod ipdb;
pub mod mmdb;
pub mod text;
pub mod xdb;

use std::fmt;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use crate::source::{Source, SourceRecord};

/// A fast hasher for `u32` data offsets (MMDB, ipdb): the splitmix64 finaliser. It is
/// not keyed; a crafted file could make offsets collide, but the number of
/// distinct offsets is bounded by the data section's size, so the worst case
/// stays bounded too.
#[derive(Default)]
pub(crate) struct OffsetHasher(u64);

impl Hasher for OffsetHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

/// Options shared by every importer.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Name given to the source in metadata and `--explain`.
    pub name: String,
    /// The table's languages, primary first (e.g. `["en", "zh-CN"]`). Names
    /// in other languages are not imported.
    pub languages: Vec<String>,
    /// The language of names that carry no language tag (flat schemas such as
    /// DB-IP's). Names whose language is not in `languages` are dropped.
    pub default_lang: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            name: "source".into(),
            languages: vec!["en".into(), "zh-CN".into()],
            default_lang: "en".into(),
        }
    }
}

impl ImportOptions {
    /// The index of `lang` in [`ImportOptions::languages`].
    pub fn lang_index(&self, lang: &str) -> Option<u8> {
        self.languages
            .iter()
            .position(|l| l == lang)
            .and_then(|i| u8::try_from(i).ok())
    }
}

/// Why an import failed: the source's name and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The source (its name, or its path).
    pub source: String,
    /// What was wrong, with the line, offset or field.
    pub message: String,
}

impl ImportError {
    /// An error about `source`.
    pub fn new(source: &str, message: impl Into<String>) -> ImportError {
        ImportError {
            source: source.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for ImportError {}

/// Source file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// MaxMind DB.
    Mmdb,
    /// CSV ranges.
    Csv,
    /// A list of networks.
    Cidr,
    /// ip2region xdb.
    Xdb,
    /// IPIP.net ipdb.
    Ipdb,
}

impl Format {
    fn from_name(s: &str) -> Option<Format> {
        match s {
            "mmdb" => Some(Format::Mmdb),
            "csv" => Some(Format::Csv),
            "cidr" | "list" => Some(Format::Cidr),
            "xdb" => Some(Format::Xdb),
            "ipdb" => Some(Format::Ipdb),
            _ => None,
        }
    }

    /// Guesses the format from the file's contents, then its name: the MMDB
    /// metadata marker in the last 128 KiB; an ipdb meta (a sane length,
    /// then a JSON object naming `node_count` and `fields`); an xdb header
    /// (structure 2 or 3, sane segment index pointers); else the extension.
    pub fn detect(path: &Path, bytes: &[u8]) -> Option<Format> {
        const MMDB_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
        let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
        if tail.windows(MMDB_MARKER.len()).any(|w| w == MMDB_MARKER) {
            return Some(Format::Mmdb);
        }
        if ipdb::looks_like_ipdb(bytes) {
            return Some(Format::Ipdb);
        }
        if xdb::looks_like_xdb(bytes) {
            return Some(Format::Xdb);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Some(Format::Csv),
            Some("txt" | "cidr" | "list" | "lst") => Some(Format::Cidr),
            Some("xdb") => Some(Format::Xdb),
            Some("ipdb") => Some(Format::Ipdb),
            _ => None,
        }
    }

    /// The language of untagged names when the input gives no `lang`.
    fn default_lang(self) -> &'static str {
        match self {
            Format::Xdb | Format::Ipdb => "zh-CN",
            _ => "en",
        }
    }
}

/// One input of a build: `[NAME=]PATH[?key=value&...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// The source's name (default: the file stem).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// `key=value` options, in order.
    pub options: Vec<(String, String)>,
}

impl InputSpec {
    /// Parses an input spec.
    ///
    /// # Errors
    /// A message if the spec is empty or an option has no `=`.
    pub fn parse(spec: &str) -> Result<InputSpec, String> {
        let (main, query) = match spec.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (spec, None),
        };
        let (name, path) = match main.split_once('=') {
            Some((n, p)) if !n.is_empty() && !n.contains('/') => (Some(n), p),
            _ => (None, main),
        };
        if path.is_empty() {
            return Err(format!("input {spec:?} has no path"));
        }
        let path = PathBuf::from(path);
        let name = match name {
            Some(n) => n.to_string(),
            None => path
                .file_stem()
                .map_or_else(|| "source".into(), |s| s.to_string_lossy().into_owned()),
        };
        let mut options = Vec::new();
        for kv in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|s| !s.is_empty())
        {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("input {spec:?}: option {kv:?} is not key=value"))?;
            options.push((k.to_string(), v.to_string()));
        }
        Ok(InputSpec {
            name,
            path,
            options,
        })
    }

    fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads and imports one input.
///
/// # Errors
/// [`ImportError`] if the file cannot be read, its format is unknown, an
/// option is wrong or the contents are invalid.
pub fn import(spec: &InputSpec, languages: &[String]) -> Result<Source, ImportError> {
    let err = |m: String| ImportError::new(&spec.path.display().to_string(), m);
    let bytes = std::fs::read(&spec.path).map_err(|e| err(e.to_string()))?;
    let format = match spec.option("format") {
        Some(f) => Format::from_name(f)
            .ok_or_else(|| err(format!("unknown format {f:?} (mmdb, csv, cidr, xdb, ipdb)")))?,
        None => Format::detect(&spec.path, &bytes)
            .ok_or_else(|| err("unknown format: give ?format=mmdb|csv|cidr|xdb|ipdb".into()))?,
    };
    let opts = ImportOptions {
        name: spec.name.clone(),
        languages: languages.to_vec(),
        default_lang: spec
            .option("lang")
            .unwrap_or(format.default_lang())
            .to_string(),
    };
    // Constant fields from the options.
    let mut constants = SourceRecord::default();
    for (k, v) in &spec.options {
        if matches!(k.as_str(), "format" | "lang" | "columns" | "codes") {
            continue;
        }
        let col = text::column_field(k, &opts).map_err(|m| err(format!("option {k}: {m}")))?;
        if let Some((field, lang)) = col {
            let value = match field.kind() {
                crate::field::FieldKind::U32 => {
                    crate::field::Value::U32(v.parse().map_err(|_| {
                        err(format!("option {k}: {v:?} is not an unsigned integer"))
                    })?)
                }
                crate::field::FieldKind::Float => crate::field::Value::F64(
                    v.parse()
                        .map_err(|_| err(format!("option {k}: {v:?} is not a number")))?,
                ),
                _ => crate::field::Value::Str(v.as_str().into()),
            };
            constants.push(field, lang, value);
        }
    }
    constants.normalize();
    let mut src = match format {
        Format::Mmdb => {
            if !constants.is_empty() || spec.option("columns").is_some() {
                return Err(err("an MMDB input takes no field or column options".into()));
            }
            mmdb::import_mmdb(&bytes, &opts).map_err(|e| err(e.to_string()))?
        }
        Format::Csv => text::import_csv(&bytes, &opts, spec.option("columns"), &constants)
            .map_err(|e| err(e.message))?,
        Format::Cidr => {
            text::import_cidr_list(&bytes, &opts, &constants).map_err(|e| err(e.message))?
        }
        Format::Xdb | Format::Ipdb => {
            if !constants.is_empty() || spec.option("columns").is_some() {
                return Err(err(format!(
                    "an {} input takes no field or column options",
                    if format == Format::Xdb { "xdb" } else { "ipdb" }
                )));
            }
            if format == Format::Xdb {
                xdb::import_xdb(&bytes, &opts).map_err(|e| err(e.to_string()))?
            } else {
                ipdb::import_ipdb(&bytes, &opts).map_err(|e| err(e.to_string()))?
            }
        }
    };
    src.name = spec.name.clone();
    // Country codes from names, and GB/T 2260 codes for Chinese places
    // (see `crate::cn`), unless the input says `codes=false`.
    match spec.option("codes") {
        None | Some("true") => crate::cn::enrich(&mut src, &opts),
        Some("false") => {}
        Some(v) => return Err(err(format!("option codes: {v:?} is not true or false"))),
    }
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let s = InputSpec::parse("data/dbip.mmdb").unwrap();
        assert_eq!(
            (s.name.as_str(), s.path.to_str().unwrap()),
            ("dbip", "data/dbip.mmdb")
        );
        let s = InputSpec::parse("cn=lists/china.txt?country_code=CN&country=China").unwrap();
        assert_eq!(s.name, "cn");
        assert_eq!(s.options.len(), 2);
        assert_eq!(s.option("country_code"), Some("CN"));
        // A path with '=' after a slash is a path.
        let s = InputSpec::parse("./a=b.csv").unwrap();
        assert_eq!(s.path.to_str().unwrap(), "./a=b.csv");
        assert!(InputSpec::parse("x=").is_err());
        assert!(InputSpec::parse("a.csv?oops")
            .unwrap_err()
            .contains("key=value"));
    }
}
