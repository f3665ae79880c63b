//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use ipgeo::build::{build, BuildOptions};
use ipgeo::import::{self, InputSpec};
use ipgeo::source::Source;
use ipgeo::table::Table;

/// The data directory (`make data`): `$IPGEO_DATA`, else `data/` in the
/// repository. `None`, with a visible SKIP line, when `file` is not there.
pub fn data_file(test: &str, file: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("IPGEO_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"));
    let p = dir.join(file);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP {test}: {} is missing (run `make data`)", p.display());
        None
    }
}

/// Imports files with the real importers.
pub fn import_all(paths: &[PathBuf], languages: &[&str]) -> Vec<Source> {
    let langs: Vec<String> = languages.iter().map(|s| s.to_string()).collect();
    paths
        .iter()
        .map(|p| {
            // The source as it is: no derived codes (see `codes=`).
            let mut spec = InputSpec::parse(p.to_str().unwrap()).unwrap();
            spec.options.push(("codes".into(), "false".into()));
            import::import(&spec, &langs).unwrap_or_else(|e| panic!("import {}: {e}", p.display()))
        })
        .collect()
}

/// Builds and opens a table from sources.
pub fn table_of(sources: &[Source], languages: &[&str]) -> Table<Vec<u8>> {
    let opts = BuildOptions {
        languages: languages.iter().map(|s| s.to_string()).collect(),
        build_time: Some(0),
        ..BuildOptions::default()
    };
    let (bytes, _) = build(sources, &opts).expect("build");
    let t = Table::open(bytes).expect("open");
    t.verify().expect("verify");
    t
}

// ---------------------------------------------------------------------------
// For the Chinese importers' tests (tests/xdb.rs, tests/ipdb.rs): their
// expected records are derived from the reference readers' answers with
// these, independently of the importers.

/// Import options of those tests: names in `en` and `zh-CN`, untagged ones
/// Chinese.
pub fn cn_opts(name: &str) -> ipgeo::import::ImportOptions {
    ipgeo::import::ImportOptions {
        name: name.into(),
        languages: vec!["en".into(), "zh-CN".into()],
        default_lang: "zh-CN".into(),
    }
}

/// Whether a value of qqwry or ip2region means "unknown" or "not a place"
/// (listed again here, not taken from the importers).
pub fn placeholder(v: &str) -> bool {
    const EXACT: [&str; 12] = [
        "",
        "0",
        "-",
        "*",
        "未知",
        "内网IP",
        "局域网",
        "本机地址",
        "保留地址",
        "共享地址",
        "未分配地址",
        "Reserved",
    ];
    EXACT.contains(&v)
        || ["局域网IP", "保留地址", "环回地址", "本地链路"]
            .iter()
            .any(|p| v.starts_with(p))
}

/// Sorted (field, language, value) triples of a record.
pub type Triples = Vec<(ipgeo::field::Field, Option<u8>, String)>;

/// The imported record for an address (through the aliases for IPv6), as
/// sorted triples; empty where the source has none.
pub fn got(src: &Source, v6: bool, a: u128) -> Triples {
    let Some(rec) = src.record_at(v6, a) else {
        return Vec::new();
    };
    let mut out: Triples = rec
        .values
        .iter()
        .map(|(f, l, v)| (*f, *l, v.to_string()))
        .collect();
    out.sort();
    out
}

/// An address as the reference readers take it: dotted IPv4, or IPv6 in
/// eight full groups (the npm reader parses neither `::ffff:1.2.3.4` nor
/// other dotted forms).
pub fn addr_text(a: u128, v6: bool) -> String {
    if v6 {
        (0..8)
            .map(|i| format!("{:x}", (a >> (112 - 16 * i)) as u16))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        std::net::Ipv4Addr::from(a as u32).to_string()
    }
}
