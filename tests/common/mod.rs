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
