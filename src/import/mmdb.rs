//! MaxMind DB importer (placeholder until the MMDB reader lands).

/// Placeholder: always fails.
///
/// # Errors
/// Always.
pub fn import_mmdb(
    _bytes: &[u8],
    _opts: &crate::import::ImportOptions,
) -> Result<crate::source::Source, String> {
    Err("MMDB import is not available yet".into())
}
