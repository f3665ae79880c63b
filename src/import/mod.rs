//! Importers: read a source database into a [`Source`](crate::source::Source).

pub mod mmdb;

/// Options shared by every importer.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Name given to the source in metadata and `--explain`.
    pub name: String,
    /// The table's languages, primary first (e.g. `["en", "zh-CN"]`). Names
    /// in other languages are not imported.
    pub languages: Vec<String>,
    /// The language of names that carry no language tag (flat schemas such as
    /// DB-IP's). Names whose language is not in `languages` are dropped.
    pub default_lang: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            name: "source".into(),
            languages: vec!["en".into(), "zh-CN".into()],
            default_lang: "en".into(),
        }
    }
}

impl ImportOptions {
    /// The index of `lang` in [`ImportOptions::languages`].
    pub fn lang_index(&self, lang: &str) -> Option<u8> {
        self.languages
            .iter()
            .position(|l| l == lang)
            .and_then(|i| u8::try_from(i).ok())
    }
}
