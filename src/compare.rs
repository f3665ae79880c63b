//! `ipgeo verify --against`: checks that a table answers like a source.

use std::path::Path;

use crate::import::{self, InputSpec};
use crate::source::{Interval, SourceRecord};
use crate::table::{Table, ValueRef};

/// What a comparison covered.
#[derive(Clone, Debug, Default)]
pub struct CompareReport {
    /// Addresses compared.
    pub compared: usize,
    /// Of those, addresses the source has data for.
    pub with_data: usize,
}

/// A small, fast, seedable generator (SplitMix64), so that runs repeat.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Random addresses as a benchmark or test would draw them: IPv4 uniformly
/// over the whole space; IPv6 uniformly inside a uniformly chosen network of
/// `v6` (uniform IPv6 addresses would almost all be unassigned).
pub fn sample_v6(rng: &mut SplitMix, v6: &[Interval]) -> Option<u128> {
    if v6.is_empty() {
        return None;
    }
    let iv = v6[rng.below(v6.len() as u64) as usize];
    let span = iv.end - iv.start;
    let r = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    Some(if span == u128::MAX {
        r
    } else {
        iv.start + r % (span + 1)
    })
}

/// Checks one address: every value the source has, the table has too.
fn check<S: AsRef<[u8]>>(
    table: &Table<S>,
    expect: Option<&SourceRecord>,
    ip: std::net::IpAddr,
) -> Result<bool, String> {
    let hit = table.lookup(ip);
    // The country-code fast path answers as the record does.
    let record_cc = hit.as_ref().and_then(|h| h.record.country_code());
    if table.country_code(ip) != record_cc {
        return Err(format!(
            "{ip}: country_code() answers {:?}, the record has {:?}",
            table.country_code(ip),
            record_cc
        ));
    }
    let Some(expect) = expect.filter(|r| !r.is_empty()) else {
        return Ok(false);
    };
    let Some(hit) = hit else {
        return Err(format!("{ip}: the source has data, the table none"));
    };
    for (field, lang, value) in &expect.values {
        let col = table
            .columns()
            .iter()
            .position(|c| c.field == Some(*field) && c.lang == *lang);
        let got = col
            .and_then(|c| hit.record.column(c))
            .map(ValueRef::to_value);
        let same = match (&got, value) {
            // A float column widened to f64 still holds the same number.
            (Some(crate::field::Value::F64(g)), crate::field::Value::F32(v)) => *g == f64::from(*v),
            (g, v) => g.as_ref() == Some(v),
        };
        if !same {
            return Err(format!(
                "{ip}: {field} is {got:?} in the table, {value:?} in the source"
            ));
        }
    }
    Ok(true)
}

/// Imports the MMDB at `path` and compares `samples` random IPv4 and IPv6
/// addresses between it and `table`.
///
/// # Errors
/// A message naming the first address whose answers differ.
pub fn compare_with_mmdb<S: AsRef<[u8]>>(
    table: &Table<S>,
    path: &Path,
    samples: usize,
    seed: u64,
) -> Result<CompareReport, String> {
    let spec = InputSpec {
        name: "against".into(),
        path: path.to_path_buf(),
        options: vec![("format".into(), "mmdb".into())],
    };
    let src = import::import(&spec, &table.meta().languages).map_err(|e| e.to_string())?;
    let mut rng = SplitMix(seed);
    let mut report = CompareReport::default();
    let one = |v6: bool, a: u128, report: &mut CompareReport| -> Result<(), String> {
        let ip = if v6 {
            std::net::IpAddr::V6(a.into())
        } else {
            std::net::IpAddr::V4((a as u32).into())
        };
        report.compared += 1;
        if check(table, src.record_at(v6, a), ip)? {
            report.with_data += 1;
        }
        Ok(())
    };
    if !src.v4.is_empty() {
        for _ in 0..samples {
            one(false, u128::from(rng.next_u64() as u32), &mut report)?;
        }
    }
    for _ in 0..samples {
        match sample_v6(&mut rng, &src.v6) {
            Some(a) => one(true, a, &mut report)?,
            None => break,
        }
    }
    Ok(report)
}
