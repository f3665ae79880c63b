//! The table builder: merges imported sources and writes a table.
//!
//! ```
//! use ipgeo::build::{build, BuildOptions};
//! use ipgeo::field::{Field, Value};
//! use ipgeo::source::{Interval, Source, SourceRecord};
//! use ipgeo::table::Table;
//!
//! let mut rec = SourceRecord::default();
//! rec.push(Field::CountryCode, None, Value::Str("AU".into()));
//! let src = Source {
//!     name: "example".into(),
//!     records: vec![rec],
//!     v4: vec![Interval { start: 0x0101_0100, end: 0x0101_01FF, rec: 0 }], // 1.1.1.0/24
//!     ..Source::default()
//! };
//! let (bytes, _report) = build(&[src], &BuildOptions::default()).unwrap();
//! let table = Table::open(bytes).unwrap();
//! let hit = table.lookup("1.1.1.1".parse().unwrap()).unwrap();
//! assert_eq!(hit.record.get_str(Field::CountryCode), Some("AU"));
//! assert_eq!(hit.network.to_string(), "1.1.1.0/24");
//! ```

pub mod merge;
pub mod spec;
pub mod writer;

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::source::{Alias, Interval, Source};
pub use merge::Policy;
pub use writer::WriteStats;

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// The input is inconsistent (overlaps, wrong types, sizes).
    Invalid(String),
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: String,
        /// What failed.
        err: std::io::Error,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Invalid(m) => write!(f, "build: {m}"),
            BuildError::Io { path, err } => write!(f, "build: {path}: {err}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Options of a build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The table's languages, primary first.
    pub languages: Vec<String>,
    /// Which source answers which field.
    pub policy: Option<Policy>,
    /// Target number of candidate ranges per index bucket (smaller is faster
    /// and larger).
    pub bucket_target: f64,
    /// Free-form description stored in the metadata.
    pub description: Option<String>,
    /// Attribution the data's licence requires (e.g. "IP Geolocation by
    /// DB-IP"), stored in the metadata; the HTTP API adds it to responses.
    pub attribution: Option<String>,
    /// Build time to record (Unix seconds); now if `None`. Fixing it makes
    /// builds reproducible.
    pub build_time: Option<u64>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            languages: vec!["en".into(), "zh-CN".into()],
            policy: None,
            bucket_target: 2.0,
            description: None,
            attribution: None,
            build_time: None,
        }
    }
}

/// Coverage of one country's IPv4 addresses by one source, or by the merged
/// table: shares of the country's addresses (by address count) that have
/// each field.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CoverageRow {
    /// The source's name, or `"merged"`.
    pub source: String,
    /// The country's IPv4 addresses this source places in it.
    pub addresses: u64,
    /// Share with a province.
    pub province: f64,
    /// Share with a province code.
    pub province_code: f64,
    /// Share with a city.
    pub city: f64,
    /// Share with a city code.
    pub city_code: f64,
    /// Share with a district.
    pub district: f64,
    /// Share with a district code.
    pub district_code: f64,
}

impl CoverageRow {
    fn of(c: &crate::cn::Coverage) -> CoverageRow {
        let share = |n: &crate::cn::Count| {
            if c.total.addresses == 0 {
                0.0
            } else {
                n.addresses as f64 / c.total.addresses as f64
            }
        };
        CoverageRow {
            source: c.source.clone(),
            addresses: c.total.addresses,
            province: share(&c.province),
            province_code: share(&c.province_code),
            city: share(&c.city),
            city_code: share(&c.city_code),
            district: share(&c.district),
            district_code: share(&c.district_code),
        }
    }
}

/// What a build produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuildReport {
    /// Chinese IPv4 coverage per source and merged (sources with CN
    /// addresses only).
    pub coverage_cn: Vec<CoverageRow>,
    /// Sizes and counts written.
    pub stats: WriteStats,
    /// Networks read from the sources (IPv4, IPv6).
    pub input_intervals: (usize, usize),
    /// Seconds spent merging and writing.
    pub seconds: f64,
}

/// Merges `sources` (earlier sources answer first unless a policy says
/// otherwise) and serialises the table.
///
/// # Errors
/// [`BuildError::Invalid`] if the sources are inconsistent or too large.
pub fn build(
    sources: &[Source],
    opts: &BuildOptions,
) -> Result<(Vec<u8>, BuildReport), BuildError> {
    let t0 = Instant::now();
    if sources.is_empty() {
        return Err(BuildError::Invalid("no sources".into()));
    }
    if opts.languages.is_empty() || opts.languages.len() > 250 {
        return Err(BuildError::Invalid(
            "between 1 and 250 languages are needed".into(),
        ));
    }
    if opts.bucket_target.is_nan() || opts.bucket_target < 0.5 {
        return Err(BuildError::Invalid(
            "bucket target must be at least 0.5".into(),
        ));
    }
    let policy = opts
        .policy
        .clone()
        .unwrap_or_else(|| Policy::in_order(sources.len()));
    // Each source's intervals: sorted and disjoint, most specific first.
    let mut v4s = Vec::with_capacity(sources.len());
    let mut v6s = Vec::with_capacity(sources.len());
    for s in sources {
        for (list, out, max) in [
            (&s.v4, &mut v4s, u128::from(u32::MAX)),
            (&s.v6, &mut v6s, u128::MAX),
        ] {
            if let Some(iv) = list
                .iter()
                .find(|iv| iv.end > max || iv.rec as usize >= s.records.len())
            {
                return Err(BuildError::Invalid(format!(
                    "source {}: range {:#x}..{:#x} is out of range or has no record",
                    s.name, iv.start, iv.end
                )));
            }
            // Sorted, disjoint lists (every MMDB, xdb, ipdb source) are used
            // as they are; others are copied and resolved.
            if list.windows(2).all(|w| w[0].end < w[1].start)
                && list.iter().all(|iv| iv.start <= iv.end)
            {
                out.push(Cow::Borrowed(list.as_slice()));
            } else {
                let mut ivs = list.clone();
                merge::resolve_overlaps(&mut ivs)?;
                out.push(Cow::Owned(ivs));
            }
        }
    }
    let mut interner = merge::Interner::default();
    let lists4: Vec<_> = v4s
        .iter()
        .zip(sources)
        .map(|(v, s)| (v.as_ref(), s.records.as_slice()))
        .collect();
    let lists6: Vec<_> = v6s
        .iter()
        .zip(sources)
        .map(|(v, s)| (v.as_ref(), s.records.as_slice()))
        .collect();
    let v4 = merge::merge_family(&lists4, &policy, &mut interner);
    let v6 = merge::merge_family(&lists6, &policy, &mut interner);
    // For `--explain`: the one source of a family that only one covers
    // (its records carry no provenance).
    let only_source = |family: &[Cow<'_, [Interval]>]| -> Option<String> {
        let mut with = family.iter().zip(sources).filter(|(l, _)| !l.is_empty());
        match (with.next(), with.next()) {
            (Some((_, s)), None) => Some(s.name.clone()),
            _ => None,
        }
    };
    let family_source = serde_json::json!({ "v4": only_source(&v4s), "v6": only_source(&v6s) });
    let mut aliases: Vec<Alias> = sources
        .iter()
        .flat_map(|s| s.aliases.iter().copied())
        .collect();
    aliases.sort();
    aliases.dedup();

    let build_time = opts.build_time.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let meta = serde_json::json!({
        "builder": concat!("ipgeo ", env!("CARGO_PKG_VERSION")),
        "build_time": build_time,
        "description": opts.description,
        "attribution": opts.attribution,
        "family_source": family_source,
        "sources": sources.iter().map(|s| serde_json::json!({
            "name": s.name,
            "format": s.format,
            "description": s.description,
            "records": s.records.len(),
            "v4_networks": s.v4.len(),
            "v6_networks": s.v6.len(),
        })).collect::<Vec<_>>(),
    });
    let input = writer::TableInput {
        languages: &opts.languages,
        records: &interner.records,
        v4: &v4,
        v6: &v6,
        aliases: &aliases,
        meta,
        build_time,
        bucket_target: opts.bucket_target,
    };
    let (bytes, stats) = writer::write(&input)?;
    // Chinese coverage, before (per source) and after the merge.
    let mut coverage_cn: Vec<CoverageRow> = sources
        .iter()
        .map(|s| CoverageRow::of(&crate::cn::coverage_v4(s, "CN")))
        .filter(|r| r.addresses > 0)
        .collect();
    if !coverage_cn.is_empty() {
        let merged = Source {
            name: "merged".into(),
            records: interner.records.clone(),
            v4: v4.clone(),
            ..Source::default()
        };
        coverage_cn.push(CoverageRow::of(&crate::cn::coverage_v4(&merged, "CN")));
    }
    let report = BuildReport {
        coverage_cn,
        stats,
        input_intervals: (
            sources.iter().map(|s| s.v4.len()).sum(),
            sources.iter().map(|s| s.v6.len()).sum(),
        ),
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((bytes, report))
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory, flushed to disk, then renamed over `path`. A reader never sees
/// a half-written table, and a reader that has the old file open keeps it.
///
/// # Errors
/// [`BuildError::Io`] if the file cannot be written or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let io = |err| BuildError::Io {
        path: path.display().to_string(),
        err,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
