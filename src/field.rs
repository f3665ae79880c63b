//! The named fields an ipgeo table can carry, and their value types.
//!
//! Field ids are part of the file format (see `docs/FORMAT.md`): they never
//! change meaning, and new fields only ever take new ids.

use std::fmt;

/// A field of a location record.
///
/// The discriminant is the field id stored in tables. Name fields
/// ([`Field::is_name`]) may be stored once per language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Field {
    /// ISO 3166-1 alpha-2 country code, e.g. `CN`.
    CountryCode = 0,
    /// Country name (localised).
    Country = 1,
    /// Two-letter continent code, e.g. `AS`.
    ContinentCode = 2,
    /// Continent name (localised).
    Continent = 3,
    /// First-level subdivision name: province, state, region (localised).
    Province = 4,
    /// First-level subdivision code (the source's code; GB/T 2260 for China
    /// where a code table is applied).
    ProvinceCode = 5,
    /// City name (localised).
    City = 6,
    /// City code (GB/T 2260 for China where a code table is applied).
    CityCode = 7,
    /// District / county name (localised).
    District = 8,
    /// District / county code.
    DistrictCode = 9,
    /// Internet service provider.
    Isp = 10,
    /// Organisation the address is assigned to.
    Organization = 11,
    /// Autonomous system number.
    Asn = 12,
    /// Organisation of the autonomous system.
    AsnOrg = 13,
    /// Latitude in degrees.
    Latitude = 14,
    /// Longitude in degrees.
    Longitude = 15,
    /// Accuracy radius in kilometres.
    AccuracyRadius = 16,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    Timezone = 17,
    /// Postal code.
    PostalCode = 18,
    /// Hidden: which source answered each field group, four bits each (see
    /// `build::merge::provenance_of`). Written only by multi-source builds;
    /// not part of answers.
    Sources = 19,
}

/// The type of a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A UTF-8 string.
    Str,
    /// A localised UTF-8 string (one column per language).
    Name,
    /// An unsigned 32-bit integer.
    U32,
    /// A floating point number (stored as `f32` or `f64`, as the source had it).
    Float,
}

impl Field {
    /// Every field, in id order.
    pub const ALL: [Field; 20] = [
        Field::CountryCode,
        Field::Country,
        Field::ContinentCode,
        Field::Continent,
        Field::Province,
        Field::ProvinceCode,
        Field::City,
        Field::CityCode,
        Field::District,
        Field::DistrictCode,
        Field::Isp,
        Field::Organization,
        Field::Asn,
        Field::AsnOrg,
        Field::Latitude,
        Field::Longitude,
        Field::AccuracyRadius,
        Field::Timezone,
        Field::PostalCode,
        Field::Sources,
    ];

    /// The field's id in tables.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The field with this id, if any.
    pub fn from_id(id: u8) -> Option<Field> {
        Field::ALL.get(usize::from(id)).copied()
    }

    /// The field's name in JSON output, Lua tables and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Field::CountryCode => "country_code",
            Field::Country => "country",
            Field::ContinentCode => "continent_code",
            Field::Continent => "continent",
            Field::Province => "province",
            Field::ProvinceCode => "province_code",
            Field::City => "city",
            Field::CityCode => "city_code",
            Field::District => "district",
            Field::DistrictCode => "district_code",
            Field::Isp => "isp",
            Field::Organization => "organization",
            Field::Asn => "asn",
            Field::AsnOrg => "asn_org",
            Field::Latitude => "latitude",
            Field::Longitude => "longitude",
            Field::AccuracyRadius => "accuracy_radius",
            Field::Timezone => "timezone",
            Field::PostalCode => "postal_code",
            Field::Sources => "_sources",
        }
    }

    /// The field called `name`, if any.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The type of the field's values.
    pub fn kind(self) -> FieldKind {
        match self {
            Field::Country | Field::Continent | Field::Province | Field::City | Field::District => {
                FieldKind::Name
            }
            Field::Asn | Field::AccuracyRadius | Field::Sources => FieldKind::U32,
            Field::Latitude | Field::Longitude => FieldKind::Float,
            _ => FieldKind::Str,
        }
    }

    /// Whether the field is bookkeeping rather than part of an answer.
    pub fn is_hidden(self) -> bool {
        self == Field::Sources
    }

    /// Whether the field is a localised name.
    pub fn is_name(self) -> bool {
        self.kind() == FieldKind::Name
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of a field.
///
/// Values compare and hash by their bits, so that records holding floats can
/// be deduplicated (`NaN` equals itself; `0.0` and `-0.0` differ).
#[derive(Clone, Debug)]
pub enum Value {
    /// A string (also used for names).
    Str(Box<str>),
    /// An unsigned integer.
    U32(u32),
    /// A single-precision float, kept as the source stored it.
    F32(f32),
    /// A double-precision float.
    F64(f64),
}

impl Value {
    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::U32(v) => Some(f64::from(v)),
            Value::F32(v) => Some(f64::from(v)),
            Value::F64(v) => Some(v),
            Value::Str(_) => None,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::U32(a), Value::U32(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => a.to_bits() == b.to_bits(),
            (Value::F64(a), Value::F64(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Str(s) => s.hash(h),
            Value::U32(v) => v.hash(h),
            Value::F32(v) => v.to_bits().hash(h),
            Value::F64(v) => v.to_bits().hash(h),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::U32(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(usize::from(f.id()), i);
            assert_eq!(Field::from_id(f.id()), Some(*f));
            assert_eq!(Field::from_name(f.name()), Some(*f));
        }
        assert_eq!(Field::from_id(200), None);
        assert_eq!(Field::from_name("nope"), None);
    }
}
