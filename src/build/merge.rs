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

/// A group of location fields, from the coarsest to the finest: its key
/// fields (a code and names) identify the place; its other fields describe
/// it. A finer group is only ever taken from a source that agrees with the
/// coarser choices, so a merge never pairs a city with a province it is not
/// in.
pub struct Group {
    /// The group's name in build specs and `--explain`.
    pub name: &'static str,
    /// The code field.
    pub code: Field,
    /// The name field.
    pub name_field: Field,
    /// Every field of the group.
    pub fields: &'static [Field],
    /// The code of the finer unit that this group's names sometimes name
    /// instead (a district in a city field): names from another source that
    /// has this code, unlike the chosen one, do not complete the group.
    pub names_may_name: Option<Field>,
}

/// The location groups, coarsest first.
pub const GROUPS: [Group; 4] = [
    Group {
        name: "country",
        code: Field::CountryCode,
        name_field: Field::Country,
        fields: &[
            Field::CountryCode,
            Field::Country,
            Field::ContinentCode,
            Field::Continent,
        ],
        names_may_name: None,
    },
    Group {
        name: "province",
        code: Field::ProvinceCode,
        name_field: Field::Province,
        fields: &[Field::Province, Field::ProvinceCode],
        names_may_name: None,
    },
    Group {
        name: "city",
        code: Field::CityCode,
        name_field: Field::City,
        fields: &[
            Field::City,
            Field::CityCode,
            Field::Latitude,
            Field::Longitude,
            Field::AccuracyRadius,
            Field::PostalCode,
            Field::Timezone,
        ],
        names_may_name: Some(Field::DistrictCode),
    },
    Group {
        name: "district",
        code: Field::DistrictCode,
        name_field: Field::District,
        fields: &[Field::District, Field::DistrictCode],
        names_may_name: None,
    },
];

/// Fields about the network rather than the place: each is taken from the
/// first source (in policy order) that has it.
pub const NETWORK: [Field; 4] = [Field::Isp, Field::Organization, Field::Asn, Field::AsnOrg];

/// What a rule of a policy applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A location group, by index into [`GROUPS`].
    Group(usize),
    /// A network field.
    Network(Field),
}

impl Target {
    /// The target called `name`: a group name or a network field name.
    pub fn from_name(name: &str) -> Option<Target> {
        if let Some(i) = GROUPS.iter().position(|g| g.name == name) {
            return Some(Target::Group(i));
        }
        Field::from_name(name)
            .filter(|f| NETWORK.contains(f))
            .map(Target::Network)
    }

    /// Its nibble in a provenance word.
    fn slot(self) -> u32 {
        match self {
            Target::Group(i) => i as u32,
            Target::Network(f) => 4 + NETWORK.iter().position(|n| *n == f).unwrap_or(0) as u32,
        }
    }
}

/// The provenance word of a record with no sources: every nibble 0xF.
pub const NO_PROVENANCE: u32 = u32::MAX;

/// The source index (0-14) that answered `target` in a provenance word.
pub fn provenance_of(word: u32, target: Target) -> Option<usize> {
    let v = (word >> (4 * target.slot())) & 0xF;
    (v != 0xF).then_some(v as usize)
}

/// A per-country exception: for addresses of `countries` (empty: all),
/// `targets` are answered by `order`.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    /// ISO country codes (as the country group chose them).
    pub countries: Vec<String>,
    /// Groups and network fields the rule orders.
    pub targets: Vec<Target>,
    /// Sources, first first; sources not listed do not answer these.
    pub order: Vec<usize>,
}

/// Which sources answer which fields, in which order.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Source order for every field without a rule (indexes into the
    /// source list); the country group always uses it.
    pub default_order: Vec<usize>,
    /// Exceptions, the first matching one applies.
    pub rules: Vec<Rule>,
    /// Record, per record, which source answered each group (a hidden
    /// `_sources` value, for `ipgeo lookup --explain`).
    pub provenance: bool,
}

impl Policy {
    /// Sources in command-line order; provenance when there are several.
    pub fn in_order(n: usize) -> Policy {
        Policy {
            default_order: (0..n).collect(),
            rules: Vec::new(),
            provenance: n > 1,
        }
    }

    /// The order for `target` at an address whose country is `cc`.
    pub fn order_for(&self, target: Target, cc: Option<&str>) -> &[usize] {
        for r in &self.rules {
            let country_ok =
                r.countries.is_empty() || cc.is_some_and(|c| r.countries.iter().any(|x| x == c));
            if country_ok && r.targets.contains(&target) {
                return &r.order;
            }
        }
        &self.default_order
    }
}

/// Whether two records name the same place for `group`: by code when both
/// have one, else by a name in a language both have. No shared evidence is
/// no agreement.
fn agree(a: &SourceRecord, b: &SourceRecord, group: &Group) -> bool {
    if let (Some(x), Some(y)) = (a.get(group.code, None), b.get(group.code, None)) {
        return x == y;
    }
    let mut shared = false;
    for (f, l, v) in a.values.iter().filter(|(f, _, _)| *f == group.name_field) {
        if let Some(w) = b.get(*f, *l) {
            if w != v {
                return false;
            }
            shared = true;
        }
    }
    shared
}

/// Whether `other`'s names for `group` may name a finer unit than
/// `chosen`'s: `other` has the code of that unit (a district code beside its
/// city) and `chosen` lacks it or gives another. This is how a city field
/// that names a district looks after the import's coding (DB-IP's "Fengtai
/// (Fengtai Qu)" as the city of an address in Beijing gets city code 110100
/// and district code 110106): its name must not complete another source's
/// city (北京市) as the same place in another language. Only cities are
/// marked (`names_may_name`): sources put districts in their city field,
/// not cities in their province field.
fn names_a_finer_unit(chosen: &SourceRecord, other: &SourceRecord, group: &Group) -> bool {
    group.names_may_name.is_some_and(|code| {
        other
            .get(code, None)
            .is_some_and(|c| chosen.get(code, None) != Some(c))
    })
}

fn has_any(r: &SourceRecord, fields: &[Field]) -> bool {
    r.values.iter().any(|(f, _, _)| fields.contains(f))
}

/// Combines the records that several sources give for one address range.
///
/// `recs[i]` is source `i`'s record, if it covers the range. The country
/// group comes from the first source in the default order that has one.
/// Each finer group (province, city, district) comes from the first source,
/// in the order the policy gives for that group and the chosen country,
/// that has the group and agrees with every coarser group chosen; its
/// fields are completed from later sources that agree with it (for example
/// a name in another language). Network fields (ISP, ASN, organisation) are
/// each taken from the first source in their order that has them. Returns
/// the record and its provenance word (see [`provenance_of`]).
pub fn combine(recs: &[Option<&SourceRecord>], policy: &Policy) -> (SourceRecord, u32) {
    let mut out = SourceRecord::default();
    let mut prov = NO_PROVENANCE;
    let set_prov = |prov: &mut u32, target: Target, src: usize| {
        if src < 0xF {
            let shift = 4 * target.slot();
            *prov = (*prov & !(0xF << shift)) | ((src as u32) << shift);
        }
    };
    let rec_of = |i: usize| recs.get(i).copied().flatten();
    let mut cc: Option<String> = None;
    // Chosen source per group so far.
    let mut anchors: Vec<(usize, usize)> = Vec::new(); // (group index, source)
    for (gi, group) in GROUPS.iter().enumerate() {
        let order = policy.order_for(Target::Group(gi), cc.as_deref());
        let eligible: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| rec_of(i).is_some())
            .filter(|&i| {
                anchors.iter().all(|&(ag, a)| {
                    a == i || agree(rec_of(a).unwrap(), rec_of(i).unwrap(), &GROUPS[ag])
                })
            })
            .collect();
        let Some(chosen) = eligible
            .iter()
            .copied()
            .find(|&i| has_any(rec_of(i).unwrap(), group.fields))
        else {
            continue;
        };
        let chosen_rec = rec_of(chosen).unwrap();
        for i in eligible
            .iter()
            .copied()
            .filter(|&i| i == chosen || agree(chosen_rec, rec_of(i).unwrap(), group))
        {
            let names_ok =
                i == chosen || !names_a_finer_unit(chosen_rec, rec_of(i).unwrap(), group);
            for (f, l, v) in rec_of(i)
                .unwrap()
                .values
                .iter()
                .filter(|(f, _, _)| group.fields.contains(f))
            {
                if *f == group.name_field && !names_ok {
                    continue;
                }
                if out.get(*f, *l).is_none() {
                    out.values.push((*f, *l, v.clone()));
                }
            }
        }
        set_prov(&mut prov, Target::Group(gi), chosen);
        if gi == 0 {
            cc = out
                .get(Field::CountryCode, None)
                .and_then(|v| v.as_str())
                .map(str::to_string);
        }
        anchors.push((gi, chosen));
    }
    for f in NETWORK {
        let target = Target::Network(f);
        for &i in policy.order_for(target, cc.as_deref()) {
            let Some(r) = rec_of(i) else { continue };
            let vals: Vec<_> = r
                .values
                .iter()
                .filter(|(g, _, _)| *g == f)
                .cloned()
                .collect();
            if !vals.is_empty() {
                out.values.extend(vals);
                set_prov(&mut prov, target, i);
                break;
            }
        }
    }
    out.normalize();
    (out, prov)
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
/// disjoint) into final intervals over interned records. Provenance is
/// recorded (if the policy asks for it) only when more than one source
/// covers the family: otherwise every answer has the same, single source.
pub fn merge_family(
    lists: &[(&[Interval], &[SourceRecord])],
    policy: &Policy,
    interner: &mut Interner,
) -> Vec<Interval> {
    let provenance = policy.provenance && lists.iter().filter(|l| !l.0.is_empty()).count() > 1;
    let mut out: Vec<Interval> = Vec::new();
    let push = |out: &mut Vec<Interval>, start: u128, end: u128, rec: u32| match out.last_mut() {
        Some(last) if last.rec == rec && last.end.checked_add(1) == Some(start) => last.end = end,
        _ => out.push(Interval { start, end, rec }),
    };
    // Memoise combinations by the tuple of source record indexes.
    let mut memo: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut single: Vec<Option<u32>> = Vec::new();
    if lists.len() == 1 && policy.rules.is_empty() {
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
                    let (mut rec, prov) = combine(&recs, policy);
                    if provenance && !rec.is_empty() {
                        rec.values
                            .push((Field::Sources, None, crate::field::Value::U32(prov)));
                        rec.normalize();
                    }
                    let id = interner.intern(rec);
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

    fn str_of(r: &SourceRecord, f: Field, l: Option<u8>) -> Option<&str> {
        r.get(f, l).and_then(|v| v.as_str())
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
        let (out, prov) = combine(&[Some(&a), Some(&b), Some(&c)], &Policy::in_order(3));
        assert_eq!(str_of(&out, Field::Province, Some(0)), Some("Beijing"));
        assert_eq!(str_of(&out, Field::City, Some(0)), Some("Beijing"));
        assert_eq!(str_of(&out, Field::Isp, None), Some("X"));
        // Provenance: country and province from a, city from c, isp from b.
        assert_eq!(provenance_of(prov, Target::Group(0)), Some(0));
        assert_eq!(provenance_of(prov, Target::Group(1)), Some(0));
        assert_eq!(provenance_of(prov, Target::Group(2)), Some(2));
        assert_eq!(provenance_of(prov, Target::Group(3)), None);
        assert_eq!(provenance_of(prov, Target::Network(Field::Isp)), Some(1));
        // Without c, no city at all rather than Hebei's.
        let (out, _) = combine(&[Some(&a), Some(&b), None], &Policy::in_order(3));
        assert!(out.get(Field::City, Some(0)).is_none());
        // A source with another country never contributes location fields.
        let d = rec(&[(Field::CountryCode, "US"), (Field::City, "Boston")]);
        let (out, _) = combine(&[Some(&a), Some(&d)], &Policy::in_order(2));
        assert!(out.get(Field::City, Some(0)).is_none());
    }

    #[test]
    fn codes_decide_agreement_across_languages() {
        // Source 0 names the province in language 0, source 1 in language 1;
        // both carry the GB/T code, so source 1's city may join.
        let mut a = rec(&[(Field::CountryCode, "CN"), (Field::ProvinceCode, "330000")]);
        a.push(Field::Province, Some(0), Value::Str("Zhejiang".into()));
        a.normalize();
        let mut b = rec(&[
            (Field::CountryCode, "CN"),
            (Field::ProvinceCode, "330000"),
            (Field::CityCode, "330100"),
        ]);
        b.push(Field::Province, Some(1), Value::Str("浙江省".into()));
        b.push(Field::City, Some(1), Value::Str("杭州市".into()));
        b.normalize();
        let (out, _) = combine(&[Some(&a), Some(&b)], &Policy::in_order(2));
        assert_eq!(str_of(&out, Field::Province, Some(0)), Some("Zhejiang"));
        assert_eq!(str_of(&out, Field::Province, Some(1)), Some("浙江省"));
        assert_eq!(str_of(&out, Field::City, Some(1)), Some("杭州市"));
        // Another code: no city from b.
        let mut c = b.clone();
        c.values.retain(|(f, _, _)| *f != Field::ProvinceCode);
        c.push(Field::ProvinceCode, None, Value::Str("320000".into()));
        c.normalize();
        let (out, _) = combine(&[Some(&a), Some(&c)], &Policy::in_order(2));
        assert!(out.get(Field::City, Some(1)).is_none());
    }

    #[test]
    fn a_city_that_names_a_district_does_not_name_the_chosen_city() {
        // Source 0 (ip2region-like): 北京市 in language 1, no district.
        // Source 1 (DB-IP-like): its "city" is a district, coded as such.
        let mut a = rec(&[
            (Field::CountryCode, "CN"),
            (Field::ProvinceCode, "110000"),
            (Field::CityCode, "110100"),
        ]);
        a.push(Field::City, Some(1), Value::Str("北京市".into()));
        a.normalize();
        let mut b = rec(&[
            (Field::CountryCode, "CN"),
            (Field::ProvinceCode, "110000"),
            (Field::CityCode, "110100"),
            (Field::DistrictCode, "110106"),
            (Field::City, "Fengtai (Fengtai Qu)"),
            (Field::Latitude, "39.8"),
        ]);
        b.push(Field::Province, Some(0), Value::Str("Beijing".into()));
        b.normalize();
        let (out, prov) = combine(&[Some(&a), Some(&b)], &Policy::in_order(2));
        assert_eq!(str_of(&out, Field::City, Some(1)), Some("北京市"));
        assert_eq!(str_of(&out, Field::City, Some(0)), None);
        // The rest of the group and the finer group still come from b.
        assert_eq!(str_of(&out, Field::Latitude, None), Some("39.8"));
        assert_eq!(str_of(&out, Field::DistrictCode, None), Some("110106"));
        assert_eq!(provenance_of(prov, Target::Group(3)), Some(1));
        // Its province name is no district: it completes the province.
        assert_eq!(str_of(&out, Field::Province, Some(0)), Some("Beijing"));
        // The same district in both: b's city name is the same place.
        a.push(Field::DistrictCode, None, Value::Str("110106".into()));
        a.normalize();
        let (out, _) = combine(&[Some(&a), Some(&b)], &Policy::in_order(2));
        assert_eq!(
            str_of(&out, Field::City, Some(0)),
            Some("Fengtai (Fengtai Qu)")
        );
        // Without a district code, b's city completes a's as before.
        b.values.retain(|(f, _, _)| *f != Field::DistrictCode);
        a.values.retain(|(f, _, _)| *f != Field::DistrictCode);
        let (out, _) = combine(&[Some(&a), Some(&b)], &Policy::in_order(2));
        assert_eq!(
            str_of(&out, Field::City, Some(0)),
            Some("Fengtai (Fengtai Qu)")
        );
    }

    #[test]
    fn rules_order_fields_per_country() {
        let dbip = rec(&[
            (Field::CountryCode, "CN"),
            (Field::Province, "P-dbip"),
            (Field::Isp, "isp-dbip"),
        ]);
        let qq = rec(&[
            (Field::CountryCode, "CN"),
            (Field::Province, "P-qq"),
            (Field::Isp, "isp-qq"),
        ]);
        let policy = Policy {
            default_order: vec![0, 1],
            rules: vec![Rule {
                countries: vec!["CN".into()],
                targets: vec![Target::Group(1), Target::Network(Field::Isp)],
                order: vec![1, 0],
            }],
            provenance: true,
        };
        let (out, prov) = combine(&[Some(&dbip), Some(&qq)], &policy);
        assert_eq!(str_of(&out, Field::Province, Some(0)), Some("P-qq"));
        assert_eq!(str_of(&out, Field::Isp, None), Some("isp-qq"));
        assert_eq!(provenance_of(prov, Target::Group(0)), Some(0));
        assert_eq!(provenance_of(prov, Target::Group(1)), Some(1));
        // Outside CN the default order applies.
        let us0 = rec(&[(Field::CountryCode, "US"), (Field::Province, "P-dbip")]);
        let us1 = rec(&[(Field::CountryCode, "US"), (Field::Province, "P-qq")]);
        let (out, _) = combine(&[Some(&us0), Some(&us1)], &policy);
        assert_eq!(str_of(&out, Field::Province, Some(0)), Some("P-dbip"));
        // A rule that leaves a source out: it does not answer those fields.
        let policy = Policy {
            rules: vec![Rule {
                countries: vec![],
                targets: vec![Target::Network(Field::Isp)],
                order: vec![1],
            }],
            ..policy
        };
        let (out, _) = combine(&[Some(&dbip), None], &policy);
        assert!(out.get(Field::Isp, None).is_none());
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
        let policy = Policy {
            provenance: false,
            ..Policy::in_order(2)
        };
        let out = merge_family(&[(&a, &ra), (&b, &rb)], &policy, &mut interner);
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
