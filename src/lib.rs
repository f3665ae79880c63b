//! ipgeo: a compact, validated, memory-mapped IP geolocation table.
#![deny(missing_docs)]

pub mod field;
pub mod import;
pub mod mmdb;
pub mod source;
