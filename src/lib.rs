//! ipgeo: a compact, validated, memory-mapped IP geolocation table.
//!
//! - [`build`] merges sources imported by [`import`] into table bytes;
//! - [`table::Table`] reads a table zero-copy from any byte buffer;
//! - [`format`] holds the file layout (documented in `docs/FORMAT.md`).
#![deny(missing_docs)]

pub mod addr;
pub mod build;
pub mod cn;
pub mod compare;
pub mod field;
pub mod format;
pub mod import;
pub mod live;
pub mod mmdb;
pub mod source;
pub mod table;
mod verify;

pub use field::{Field, Value};
pub use table::{Table, TableError};
