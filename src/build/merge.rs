//! Range arithmetic for the builder: resolving overlaps inside one source,
//! and merging several sources field by field.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::BuildError;
use crate::field::Field;
use crate::source::{Interval, SourceRecord};

/// Makes one source's intervals sorted and disjoint. Where intervals overlap,
/// the most specific (smallest) one answers; between equally small ones, the
/// later in the input wins. Adjacent pieces of the same record coalesce.
///
/// # Errors
/// Fails on an interval whose start is after its end.
pub fn resolve_overlaps(ivs: &mut Vec<Interval>) -> Result<(), BuildError> {
    if let Some(bad) = ivs.iter().find(|iv| iv.start > iv.end) {
        return Err(BuildError::Invalid(format!(
            "range starts after it ends ({:#x} > {:#x})",
            bad.start, bad.end
        )));
    }
    let disjoint_sorted = ivs.windows(2).all(|w| w[0].end < w[1].start);
    if disjoint_sorted {
        return Ok(());
    }
    // Keep the input position to break ties: stable sort by start.
    let mut order: Vec<(usize, Interval)> = ivs.iter().copied().enumerate().collect();
    order.sort_by_key(|(i, iv)| (iv.start, *i));
    // Heap of active intervals: smallest size first, then latest input.
    let mut heap: BinaryHeap<(Reverse<u128>, usize, u128, u32)> = BinaryHeap::new();
    let mut out: Vec<Interval> = Vec::with_capacity(ivs.len());
    let mut next = 0usize;
    let mut pos = order[0].1.start;
    loop {
        while next < order.len() && order[next].1.start <= pos {
            let (i, iv) = order[next];
            heap.push((Reverse(iv.end - iv.start), i, iv.end, iv.rec));
            next += 1;
        }
        while heap.peek().is_some_and(|top| top.2 < pos) {
            heap.pop();
        }
        let Some(&(_, _, end, rec)) = heap.peek() else {
            match order.get(next) {
                Some((_, iv)) => {
                    pos = iv.start;
                    continue;
                }
                None => break,
            }
        };
        let mut stop = end; // last address this winner answers
        if let Some((_, iv)) = order.get(next) {
            stop = stop.min(iv.start - 1);
        }
        match out.last_mut() {
            Some(last) if last.rec == rec && last.end.checked_add(1) == Some(pos) => {
                last.end = stop
            }
            _ => out.push(Interval {
                start: pos,
                end: stop,
                rec,
            }),
        }
        match stop.checked_add(1) {
            Some(p) => pos = p,
            None => break,
        }
    }
    *ivs = out;
    Ok(())
}

/// Field groups, from the coarsest location to the finest. A finer group is
/// only ever taken from a source that agrees with the coarser choices, so a
/// merge never pairs a city with a province it is not in.
const COUNTRY: &[Field] = &[
    Field::CountryCode,
    Field::Country,
    Field::ContinentCode,
    Field::Continent,
];
const PROVINCE: &[Field] = &[Field::Province, Field::ProvinceCode];
const CITY: &[Field] = &[
    Field::City,
    Field::CityCode,
    Field::Latitude,
    Field::Longitude,
    Field::AccuracyRadius,
    Field::PostalCode,
    Field::Timezone,
];
const DISTRICT: &[Field] = &[Field::District, Field::DistrictCode];
/// Fields about the network rather than the place: each is taken from the
/// first source that has it.
const NETWORK: &[Field] = &[Field::Isp, Field::Organization, Field::Asn, Field::AsnOrg];

/// Which sources answer, in which order.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Source order for every field (indexes into the source list).
    pub default_order: Vec<usize>,
}

impl Policy {
    /// Sources in command-line order.
    pub fn in_order(n: usize) -> Policy {
        Policy {
            default_order: (0..n).collect(),
        }
    }

    fn order(&self) -> &[usize] {
        &self.default_order
    }
}

/// Whether two records agree on a group: they share at least one value of the
/// group's fields (same field and language) and no shared value differs.
fn agree(a: &SourceRecord, b: &SourceRecord, group: &[Field]) -> bool {
    let mut shared = false;
    for (f, l, v) in a.values.iter().filter(|(f, _, _)| group.contains(f)) {
        if let Some(w) = b.get(*f, *l) {
            if w != v {
                return false;
            }
            shared = true;
        }
    }
    shared
}

fn has_any(r: &SourceRecord, group: &[Field]) -> bool {
    r.values.iter().any(|(f, _, _)| group.contains(f))
}

/// Combines the records that several sources give for one address range.
///
/// `recs[i]` is source `i`'s record, if it covers the range. For each group
/// of location fields (country, province, city, district) the first source
/// in policy order that has the group is chosen; each field of the group is
/// then filled from that source, or failing that from a later source that
/// agrees with it on the group. A finer group is only taken from sources
/// that agree with every coarser group chosen. Network fields (ISP, ASN,
/// organisation) are filled independently, first source first.
pub fn combine(recs: &[Option<&SourceRecord>], policy: &Policy) -> SourceRecord {
    let order: Vec<&SourceRecord> = policy
        .order()
        .iter()
        .filter_map(|&i| recs.get(i).copied().flatten())
        .collect();
    if order.len() == 1 {
        return order[0].clone();
    }
    let mut out = SourceRecord::default();
    let mut anchors: Vec<(&[Field], &SourceRecord)> = Vec::new();
    for group in [COUNTRY, PROVINCE, CITY, DISTRICT] {
        let eligible: Vec<&SourceRecord> = order
            .iter()
            .copied()
            .filter(|r| {
                anchors
                    .iter()
                    .all(|(g, a)| std::ptr::eq(*a, *r) || agree(a, r, g))
            })
            .collect();
        let Some(chosen) = eligible.iter().copied().find(|r| has_any(r, group)) else {
            continue;
        };
        let helpers = eligible
            .iter()
            .copied()
            .filter(|r| std::ptr::eq(*r, chosen) || agree(chosen, r, group));
        for r in helpers {
            for (f, l, v) in r.values.iter().filter(|(f, _, _)| group.contains(f)) {
                if out.get(*f, *l).is_none() {
                    out.values.push((*f, *l, v.clone()));
                }
            }
        }
        anchors.push((group, chosen));
    }
    for r in &order {
        for (f, l, v) in r.values.iter().filter(|(f, _, _)| NETWORK.contains(f)) {
            if out.get(*f, *l).is_none() {
                out.values.push((*f, *l, v.clone()));
            }
        }
    }
    out.normalize();
    out
}

/// Interns merged records: equal records get one id.
#[derive(Default)]
pub struct Interner {
    /// The distinct records, by id.
    pub records: Vec<SourceRecord>,
    index: HashMap<SourceRecord, u32>,
}

impl Interner {
    /// The id of `rec`, adding it if new.
    pub fn intern(&mut self, rec: SourceRecord) -> u32 {
        if let Some(&id) = self.index.get(&rec) {
            return id;
        }
        let id = self.records.len() as u32;
        self.index.insert(rec.clone(), id);
        self.records.push(rec);
        id
    }
}

/// Merges one family's intervals from several sources (each sorted and
/// disjoint) into final intervals over interned records.
pub fn merge_family(
    lists: &[(&[Interval], &[SourceRecord])],
    policy: &Policy,
    interner: &mut Interner,
) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::new();
    let push = |out: &mut Vec<Interval>, start: u128, end: u128, rec: u32| match out.last_mut() {
        Some(last) if last.rec == rec && last.end.checked_add(1) == Some(start) => last.end = end,
        _ => out.push(Interval { start, end, rec }),
    };
    // Memoise combinations by the tuple of source record indexes.
    let mut memo: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut single: Vec<Option<u32>> = Vec::new();
    if lists.len() == 1 {
        let (ivs, recs) = lists[0];
        single.resize(recs.len(), None);
        for iv in ivs {
            let id = match single[iv.rec as usize] {
                Some(id) => id,
                None => {
                    let id = interner.intern(recs[iv.rec as usize].clone());
                    single[iv.rec as usize] = Some(id);
                    id
                }
            };
            push(&mut out, iv.start, iv.end, id);
        }
        return out;
    }
    let mut pos_idx = vec![0usize; lists.len()];
    let mut pos: u128 = lists
        .iter()
        .filter_map(|(ivs, _)| ivs.first().map(|iv| iv.start))
        .min()
        .unwrap_or(0);
    let mut key: Vec<u32> = vec![u32::MAX; lists.len()];
    loop {
        let mut next: Option<u128> = None; // first address after this segment
        let mut any = false;
        let mut done = true;
        for (i, (ivs, _)) in lists.iter().enumerate() {
            while pos_idx[i] < ivs.len() && ivs[pos_idx[i]].end < pos {
                pos_idx[i] += 1;
            }
            key[i] = u32::MAX;
            let Some(iv) = ivs.get(pos_idx[i]) else {
                continue;
            };
            done = false;
            let boundary = if iv.start <= pos {
                key[i] = iv.rec;
                any = true;
                iv.end.checked_add(1)
            } else {
                Some(iv.start)
            };
            if let Some(b) = boundary {
                next = Some(next.map_or(b, |n| n.min(b)));
            }
        }
        if done {
            break;
        }
        if any {
            let id = match memo.get(&key) {
                Some(&id) => id,
                None => {
                    let recs: Vec<Option<&SourceRecord>> = key
                        .iter()
                        .zip(lists)
                        .map(|(&r, (_, recs))| {
                            if r == u32::MAX {
                                None
                            } else {
                                recs.get(r as usize)
                            }
                        })
                        .collect();
                    let id = interner.intern(combine(&recs, policy));
                    memo.insert(key.clone(), id);
                    id
                }
            };
            let end = next.map_or(u128::MAX, |n| n - 1);
            push(&mut out, pos, end, id);
        }
        match next {
            Some(n) => pos = n,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;

    fn iv(start: u128, end: u128, rec: u32) -> Interval {
        Interval { start, end, rec }
    }

    fn rec(pairs: &[(Field, &str)]) -> SourceRecord {
        let mut r = SourceRecord::default();
        for (f, v) in pairs {
            let lang = if f.is_name() { Some(0) } else { None };
            r.push(*f, lang, Value::Str((*v).into()));
        }
        r.normalize();
        r
    }

    #[test]
    fn most_specific_wins() {
        // 10.0.0.0/8 with 10.1.0.0/16 inside and 10.1.2.0/24 inside that.
        let mut ivs = vec![
            iv(0x0A00_0000, 0x0AFF_FFFF, 0),
            iv(0x0A01_0000, 0x0A01_FFFF, 1),
            iv(0x0A01_0200, 0x0A01_02FF, 2),
        ];
        resolve_overlaps(&mut ivs).unwrap();
        assert_eq!(
            ivs,
            vec![
                iv(0x0A00_0000, 0x0A00_FFFF, 0),
                iv(0x0A01_0000, 0x0A01_01FF, 1),
                iv(0x0A01_0200, 0x0A01_02FF, 2),
                iv(0x0A01_0300, 0x0A01_FFFF, 1),
                iv(0x0A02_0000, 0x0AFF_FFFF, 0),
            ]
        );
    }

    #[test]
    fn partial_overlap_and_ties() {
        // [0,99] and [50,119]: the smaller (70 wide) wins where they overlap.
        let mut ivs = vec![iv(0, 99, 0), iv(50, 119, 1)];
        resolve_overlaps(&mut ivs).unwrap();
        assert_eq!(ivs, vec![iv(0, 49, 0), iv(50, 119, 1)]);
        // Equal size: the later one wins.
        let mut ivs = vec![iv(0, 9, 0), iv(0, 9, 1)];
        resolve_overlaps(&mut ivs).unwrap();
        assert_eq!(ivs, vec![iv(0, 9, 1)]);
        // Up to the top of the space.
        let mut ivs = vec![iv(0, u128::MAX, 0), iv(u128::MAX - 1, u128::MAX, 1)];
        resolve_overlaps(&mut ivs).unwrap();
        assert_eq!(
            ivs,
            vec![iv(0, u128::MAX - 2, 0), iv(u128::MAX - 1, u128::MAX, 1)]
        );
        // Disjoint gaps survive.
        let mut ivs = vec![iv(10, 20, 0), iv(0, 5, 1), iv(12, 13, 1)];
        resolve_overlaps(&mut ivs).unwrap();
        assert_eq!(
            ivs,
            vec![iv(0, 5, 1), iv(10, 11, 0), iv(12, 13, 1), iv(14, 20, 0)]
        );
        assert!(resolve_overlaps(&mut vec![iv(5, 4, 0)]).is_err());
    }

    #[test]
    fn combine_keeps_city_with_its_province() {
        let a = rec(&[(Field::CountryCode, "CN"), (Field::Province, "Beijing")]);
        let b = rec(&[
            (Field::CountryCode, "CN"),
            (Field::Province, "Hebei"),
            (Field::City, "Shijiazhuang"),
            (Field::Isp, "X"),
        ]);
        let c = rec(&[
            (Field::CountryCode, "CN"),
            (Field::Province, "Beijing"),
            (Field::City, "Beijing"),
        ]);
        let out = combine(&[Some(&a), Some(&b), Some(&c)], &Policy::in_order(3));
        assert_eq!(
            out.get(Field::Province, Some(0)).unwrap().as_str(),
            Some("Beijing")
        );
        assert_eq!(
            out.get(Field::City, Some(0)).unwrap().as_str(),
            Some("Beijing")
        );
        assert_eq!(out.get(Field::Isp, None).unwrap().as_str(), Some("X"));
        // Without c, no city at all rather than Hebei's.
        let out = combine(&[Some(&a), Some(&b), None], &Policy::in_order(3));
        assert!(out.get(Field::City, Some(0)).is_none());
        // A source with another country never contributes location fields.
        let d = rec(&[(Field::CountryCode, "US"), (Field::City, "Boston")]);
        let out = combine(&[Some(&a), Some(&d)], &Policy::in_order(2));
        assert!(out.get(Field::City, Some(0)).is_none());
    }

    #[test]
    fn merge_splits_on_boundaries() {
        let ra = vec![rec(&[(Field::CountryCode, "CN")])];
        let rb = vec![rec(&[
            (Field::CountryCode, "CN"),
            (Field::City, "Hangzhou"),
        ])];
        let a = vec![iv(0, 99, 0)];
        let b = vec![iv(50, 149, 0)];
        let mut interner = Interner::default();
        let out = merge_family(&[(&a, &ra), (&b, &rb)], &Policy::in_order(2), &mut interner);
        // [0,49] from a alone; [50,99] a+b combined equals b's record, so it
        // coalesces with [100,149] from b alone.
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].start, out[0].end), (0, 49));
        assert_eq!((out[1].start, out[1].end), (50, 149));
        assert_eq!(
            interner.records[out[1].rec as usize]
                .get(Field::City, Some(0))
                .unwrap()
                .as_str(),
            Some("Hangzhou")
        );
        assert!(interner.records[out[0].rec as usize]
            .get(Field::City, Some(0))
            .is_none());
    }
}
