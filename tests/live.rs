//! `Live`: a table that follows its file. Replacements by rename are swapped
//! in; corrupt, truncated or half-written files are refused and the old
//! table keeps serving; in-place overwrites cannot fault the reader.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use ipgeo::build::{build, BuildOptions};
use ipgeo::field::{Field, Value};
use ipgeo::live::{Check, Live, LiveOptions};
use ipgeo::source::{Interval, Source, SourceRecord};

/// A table answering `cc` for 1.0.0.0/8, with some bulk.
fn table(cc: &str) -> Vec<u8> {
    let mut src = Source::default();
    let mut r = SourceRecord::default();
    r.push(Field::CountryCode, None, Value::Str(cc.into()));
    src.records.push(r);
    for i in 0..20_000u128 {
        src.v4.push(Interval {
            start: 0x0100_0000 + i * 512,
            end: 0x0100_0000 + i * 512 + 255,
            rec: 0,
        });
    }
    build(&[src], &BuildOptions::default()).unwrap().0
}

fn cc(live: &Live) -> Option<String> {
    let t = &live.current().table;
    t.lookup("1.0.0.1".parse().unwrap())
        .and_then(|h| h.record.get_str(Field::CountryCode).map(str::to_string))
}

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// Calls check() until it reports something other than loading/unchanged,
/// or `limit` passes.
fn settle(live: &mut Live, limit: Duration) -> Check {
    let t = Instant::now();
    loop {
        let c = live.check();
        if !matches!(c, Check::Loading | Check::Unchanged) || t.elapsed() > limit {
            return c;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn opts(dir: &Path) -> LiveOptions {
    LiveOptions {
        snapshot_dir: Some(dir.join("snapshots")),
        ..LiveOptions::default()
    }
}

#[test]
fn follows_renames_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ipgeo");
    fs::write(&path, table("AA")).unwrap();
    let mut live = Live::open(&path, opts(dir.path())).unwrap();
    assert_eq!(cc(&live).as_deref(), Some("AA"));
    assert_eq!(live.check(), Check::Unchanged);

    replace(&path, &table("BB"));
    assert_eq!(settle(&mut live, Duration::from_secs(10)), Check::Swapped);
    assert_eq!((cc(&live).as_deref(), live.generation()), (Some("BB"), 2));
    // The old snapshot name is gone, the new one is there.
    let names: Vec<_> = fs::read_dir(dir.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // Garbage: refused once (after it settles), never again for that file.
    replace(&path, b"this is not a table at all, just some bytes of text.......................................................................................");
    match settle(&mut live, Duration::from_secs(10)) {
        Check::Failed(m) => assert!(
            m.contains("not an ipgeo table (bad magic at offset 0)"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(live.check(), Check::Unchanged);
    assert_eq!(cc(&live).as_deref(), Some("BB"));
    assert!(live.last_error().unwrap().contains("bad magic"));

    // A truncated table.
    let good = table("CC");
    replace(&path, &good[..good.len() / 2]);
    match settle(&mut live, Duration::from_secs(10)) {
        Check::Failed(m) => assert!(m.contains("truncated or extended"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cc(&live).as_deref(), Some("BB"));

    // A good one again.
    replace(&path, &good);
    assert_eq!(settle(&mut live, Duration::from_secs(10)), Check::Swapped);
    assert_eq!(cc(&live).as_deref(), Some("CC"));

    // reload(): unchanged, then forced.
    assert_eq!(live.reload(false), Ok(false));
    assert_eq!(live.reload(true), Ok(true));
    assert_eq!(cc(&live).as_deref(), Some("CC"));
}

#[test]
fn in_place_overwrites_and_truncation_never_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ipgeo");
    let a = table("AA");
    let b = table("BB");
    fs::write(&path, &a).unwrap();
    let mut live = Live::open(&path, opts(dir.path())).unwrap();
    // A writer rewrites the live file in place, in pieces, many times, and
    // truncates it, while we look up and check.
    let writer = {
        let path = path.clone();
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            for i in 0..30 {
                let src = if i % 2 == 0 { &b } else { &a };
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .unwrap();
                for chunk in src.chunks(64 * 1024) {
                    std::io::Write::write_all(&mut f, chunk).unwrap();
                }
                drop(f);
                if i == 20 {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .unwrap()
                        .set_len(1000)
                        .unwrap();
                }
                std::thread::sleep(Duration::from_millis(15));
            }
            // End on B.
            fs::write(&path, &b).unwrap();
        })
    };
    let t = Instant::now();
    while !writer.is_finished() || t.elapsed() < Duration::from_secs(1) {
        // Every lookup reads the mapped snapshot: this must never fault.
        let answer = cc(&live);
        assert!(
            matches!(answer.as_deref(), Some("AA") | Some("BB")),
            "{answer:?}"
        );
        live.check();
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.join().unwrap();
    // It converges on the final version.
    let t = Instant::now();
    while cc(&live).as_deref() != Some("BB") && t.elapsed() < Duration::from_secs(10) {
        live.check();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(cc(&live).as_deref(), Some("BB"));
}

#[test]
fn processes_share_snapshots_and_unlink_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ipgeo");
    fs::write(&path, table("AA")).unwrap();
    let snaps = dir.path().join("snapshots");
    // A "master" open: its snapshot name is removed once mapped.
    let mut master = Live::open(
        &path,
        LiveOptions {
            unlink_snapshot: true,
            ..opts(dir.path())
        },
    )
    .unwrap();
    assert!(master.current().snapshot.is_none());
    assert_eq!(fs::read_dir(&snaps).unwrap().count(), 0);
    // Two "workers" load the same new version: one snapshot, kept, shared.
    let mut w2 = Live::open(&path, opts(dir.path())).unwrap();
    replace(&path, &table("BB"));
    assert_eq!(settle(&mut master, Duration::from_secs(10)), Check::Swapped);
    assert_eq!(settle(&mut w2, Duration::from_secs(10)), Check::Swapped);
    let s1 = master
        .current()
        .snapshot
        .clone()
        .expect("reloads keep the snapshot name");
    let s2 = w2.current().snapshot.clone().unwrap();
    assert_eq!(s1, s2);
    assert!(s1.exists());
}

#[test]
fn a_missing_or_bad_file_fails_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let err = Live::open(dir.path().join("nope.ipgeo"), opts(dir.path())).unwrap_err();
    assert!(err.to_string().contains("No such file"), "{err}");
    let p = dir.path().join("bad.ipgeo");
    fs::write(&p, b"short").unwrap();
    let err = Live::open(&p, opts(dir.path())).unwrap_err();
    assert!(err.to_string().contains("cannot read the header"), "{err}");
}
