//! Arbitrary bytes into the MMDB importer: it must return `Ok` or `Err`,
//! never panic, and take time and memory bounded by the input's size.
#![no_main]

use ipgeo::import::{mmdb::import_mmdb, ImportOptions};
use ipgeo::mmdb::{Entry, Mmdb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions::default();
    let imported = import_mmdb(data, &opts);
    // The reader's other entry points on the same bytes: lookups along the
    // networks the walk lists (bounded), which must agree with the walk.
    if let Ok(db) = Mmdb::from_source(data) {
        for entry in db.walk().take(64) {
            let Ok(Entry::Network {
                v6,
                start,
                prefix_len,
                data,
            }) = entry
            else {
                continue;
            };
            let ip = if v6 {
                std::net::IpAddr::V6(start.into())
            } else {
                std::net::IpAddr::V4((start as u32).into())
            };
            if let Ok(Some((_, off))) = db.lookup(ip) {
                // A network of the walk is found by its first address,
                // except 0.0.0.0/0 stood in for an IPv6 network above ::/96.
                assert!(
                    off == data || prefix_len == 0,
                    "walk and lookup disagree at {ip}"
                );
            }
        }
        let _ = db.lookup("::ffff:1.2.3.4".parse().unwrap());
    }
    if let Ok(src) = imported {
        assert!(src.v4.windows(2).all(|w| w[0].end < w[1].start));
        assert!(src.v6.windows(2).all(|w| w[0].end < w[1].start));
    }
});
