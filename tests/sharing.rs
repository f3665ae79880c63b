//! Several processes mapping one table share its pages: each process's
//! proportional set size (Pss) of the mapping is its resident size (Rss)
//! divided by the number of processes, so the sum of their Pss stays at one
//! copy. Linux only (reads `/proc/<pid>/smaps`).
//!
//! The parent builds a table, then starts copies of this test binary that
//! run `sharing_child`: each maps the table (directly, and through a `Live`
//! snapshot), touches every page, reports, and waits for the parent to read
//! its memory maps.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use ipgeo::build::{build, BuildOptions};
use ipgeo::field::{Field, Value};
use ipgeo::live::{Live, LiveOptions};
use ipgeo::source::{Interval, Source, SourceRecord};
use ipgeo::table::Table;

const CHILDREN: usize = 4;

/// Rss and Pss (kB) of the mappings of `path` in process `pid`.
fn mapping_kb(pid: u32, path: &str) -> (u64, u64) {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let (mut rss, mut pss, mut inside) = (0, 0, false);
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            inside = line.contains(path);
            continue;
        }
        if !inside {
            continue;
        }
        let kb = || {
            line.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if line.starts_with("Rss:") {
            rss += kb();
        } else if line.starts_with("Pss:") {
            pss += kb();
        }
    }
    (rss, pss)
}

/// A table of a few tens of megabytes: many distinct records and ranges.
fn big_table() -> Vec<u8> {
    let mut src = Source::default();
    for i in 0..200_000u32 {
        let mut r = SourceRecord::default();
        r.push(
            Field::CountryCode,
            None,
            Value::Str(format!("C{}", i % 200).into()),
        );
        r.push(
            Field::City,
            Some(0),
            Value::Str(format!("city number {i}").into()),
        );
        r.push(Field::Asn, None, Value::U32(i));
        r.normalize();
        src.records.push(r);
    }
    for i in 0..2_000_000u128 {
        src.v4.push(Interval {
            start: i * 2048,
            end: i * 2048 + 1023,
            rec: (i % 200_000) as u32,
        });
    }
    build(&[src], &BuildOptions::default()).unwrap().0
}

#[test]
fn processes_share_the_table_pages() {
    if !std::path::Path::new("/proc/self/smaps").exists() {
        eprintln!("SKIP sharing: no /proc/self/smaps");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.ipgeo");
    std::fs::write(&path, big_table()).unwrap();
    let snapdir = dir.path().join("snapshots");
    for (mode, needle) in [
        ("direct", path.to_str().unwrap().to_string()),
        ("snapshot", snapdir.to_str().unwrap().to_string()),
    ] {
        let mut kids = Vec::new();
        for _ in 0..CHILDREN {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "sharing_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("IPGEO_SHARING_CHILD", &path)
                .env("IPGEO_SHARING_MODE", mode)
                .env("IPGEO_SHARING_SNAPDIR", &snapdir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            while !line.contains("ready") {
                line.clear();
                assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
            }
            kids.push((child, out));
        }
        let sizes: Vec<(u64, u64)> = kids
            .iter()
            .map(|(c, _)| mapping_kb(c.id(), &needle))
            .collect();
        for (mut c, _) in kids {
            drop(c.stdin.take());
            assert!(c.wait().unwrap().success());
        }
        let rss = sizes[0].0;
        let pss_sum: u64 = sizes.iter().map(|s| s.1).sum();
        eprintln!("{mode}: {CHILDREN} processes, Rss per process {rss} kB, summed Pss {pss_sum} kB ({sizes:?})");
        assert!(
            rss > 10_000,
            "{mode}: the table was not resident ({rss} kB)"
        );
        // One copy in total (within 5%), not one per process.
        assert!(
            pss_sum * 100 <= rss * 105 && pss_sum * 100 >= rss * 95,
            "{mode}: Pss sum {pss_sum} vs Rss {rss}"
        );
    }
}

/// The child side of `processes_share_the_table_pages` (run by it).
#[test]
#[ignore]
fn sharing_child() {
    let Some(path) = std::env::var_os("IPGEO_SHARING_CHILD") else {
        return;
    };
    let mode = std::env::var("IPGEO_SHARING_MODE").unwrap();
    let keep: Box<dyn std::any::Any> = if mode == "direct" {
        let t = Table::open_file(&path).unwrap();
        t.verify().unwrap(); // touches every page
        Box::new(t)
    } else {
        let opts = LiveOptions {
            snapshot_dir: Some(std::env::var_os("IPGEO_SHARING_SNAPDIR").unwrap().into()),
            ..LiveOptions::default()
        };
        let live = Live::open(&path, opts).unwrap();
        live.current().table.verify().unwrap();
        Box::new(live)
    };
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut s = String::new();
    let _ = std::io::stdin().read_line(&mut s);
    drop(keep);
}
