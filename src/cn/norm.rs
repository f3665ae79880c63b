//! Name normalisation: the keys names are compared by.
//!
//! A key is the name folded to lower case, without diacritics, spaces or
//! punctuation, with `v` read as `ü` (= `u`), as toneless pinyin writes it.
//! Chinese characters are kept as they are.

/// Whether `s` holds Chinese characters (and so is matched by characters,
/// not by romanisation).
pub(crate) fn is_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{3400}'..='\u{9fff}').contains(&c))
}

/// Folds one character: `None` drops it.
fn fold(ch: char) -> Option<char> {
    let c = if ch.is_ascii() {
        ch.to_ascii_lowercase()
    } else {
        ch.to_lowercase().next().unwrap_or(ch)
    };
    Some(match c {
        'a'..='u' | 'w'..='z' | '0'..='9' => c,
        'v' => 'u',
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ǎ' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ǐ' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' | 'ǒ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        _ if c.is_whitespace() || c.is_ascii_punctuation() => return None,
        '’' | '‘' | 'ʼ' | '·' | '・' | '（' | '）' | '，' | '、' | '\u{3000}' | '–' | '—' => {
            return None
        }
        _ => c,
    })
}

/// The key of a name.
pub(crate) fn key(s: &str) -> String {
    s.chars().filter_map(fold).collect()
}

/// The words of a romanised name, folded (see [`key`]).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_whitespace() || ch == '-' || ch == '_' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if let Some(c) = fold(ch) {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Generic trailing words of romanised names, longest first.
const LATIN_SUFFIXES: &[&[&str]] = &[
    &["special", "administrative", "region"],
    &["autonomous", "region"],
    &["autonomous", "prefecture"],
    &["autonomous", "county"],
    &["autonomous", "banner"],
    &["new", "area"],
    &["district"],
    &["county"],
    &["city"],
    &["prefecture"],
    &["province"],
    &["municipality"],
    &["league"],
    &["banner"],
    &["region"],
    &["sar"],
    &["area"],
    &["shi"],
    &["sheng"],
    &["qu"],
    &["xinqu"],
    &["xian"],
    &["diqu"],
    &["meng"],
    &["qi"],
    &["zizhiqu"],
    &["zizhizhou"],
    &["zizhixian"],
    &["zizhiqi"],
];

/// Generic suffixes of Chinese names, longest first.
const CJK_SUFFIXES: &[&str] = &[
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "新区",
    "特区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
    "州",
];

/// The keys of `s` with generic suffixes removed one at a time (市, 自治州,
/// "District", "Qu", ...), shortest last; never a key of fewer than two
/// Chinese characters or an empty one. `s` itself is not included.
pub(crate) fn stripped_keys(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if is_cjk(s) {
        let mut cur: String = key(s);
        'outer: loop {
            for suf in CJK_SUFFIXES {
                if let Some(rest) = cur.strip_suffix(suf) {
                    if rest.chars().count() >= 2 {
                        cur = rest.to_string();
                        out.push(cur.clone());
                        continue 'outer;
                    }
                }
            }
            break;
        }
    } else {
        let mut w = words(s);
        // "Xi County" is 隰县 xixian, "Futian District" 福田区 futianqu.
        if w.len() > 1 {
            let last = w[w.len() - 1].as_str();
            let py = match last {
                "county" => Some("xian"),
                "district" => Some("qu"),
                "city" => Some("shi"),
                _ => None,
            };
            if let Some(py) = py {
                out.push(format!("{}{py}", w[..w.len() - 1].concat()));
            }
        }
        'outer2: loop {
            for suf in LATIN_SUFFIXES {
                let tail = w.len().saturating_sub(suf.len());
                if w.len() > suf.len()
                    && w[tail..].iter().zip(suf.iter()).all(|(a, b)| *a == key(b))
                {
                    w.truncate(w.len() - suf.len());
                    out.push(w.concat());
                    continue 'outer2;
                }
            }
            break;
        }
        // "Taiyuanshi": 市 glued on.
        let k = w.concat();
        if let Some(rest) = k.strip_suffix("shi") {
            if rest.len() >= 4 {
                out.push(rest.to_string());
            }
        }
    }
    out
}

/// Splits `"Main (Other)"` into `("Main", Some("Other"))`.
pub(crate) fn split_paren(s: &str) -> (&str, Option<&str>) {
    let open = s.find(['(', '（']);
    if let Some(i) = open {
        let rest = &s[i..];
        let inner = rest
            .trim_start_matches(['(', '（'])
            .trim_end()
            .trim_end_matches([')', '）']);
        // "Linfen (Xi County, Shanxi)": the first part names the place.
        let inner = inner.split([',', '，']).next().unwrap_or(inner);
        let main = s[..i].trim();
        if !main.is_empty() && !inner.trim().is_empty() {
            return (main, Some(inner.trim()));
        }
    }
    (s.trim(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case_marks_and_punctuation() {
        assert_eq!(key("Xi'an"), "xian");
        assert_eq!(key("Ürümqi"), "urumqi");
        assert_eq!(key(" Kwai Tsing-District "), "kwaitsingdistrict");
        assert_eq!(key("Lvliang"), "luliang");
        assert_eq!(key("杭州市"), "杭州市");
    }

    #[test]
    fn suffixes_strip_one_at_a_time() {
        assert_eq!(stripped_keys("锡林郭勒盟市"), ["锡林郭勒盟", "锡林郭勒"]);
        assert_eq!(stripped_keys("伊犁州"), ["伊犁"]);
        assert_eq!(stripped_keys("东区"), Vec::<String>::new());
        assert_eq!(stripped_keys("Haidian Qu"), ["haidian"]);
        assert_eq!(
            stripped_keys("Inner Mongolia Autonomous Region"),
            ["innermongolia"]
        );
        assert_eq!(stripped_keys("District"), Vec::<String>::new());
        assert_eq!(stripped_keys("Xi County"), ["xixian", "xi"]);
        assert_eq!(stripped_keys("Taiyuanshi"), ["taiyuan"]);
    }

    #[test]
    fn parentheses_split() {
        assert_eq!(
            split_paren("Fengtai (Fengtai Qu)"),
            ("Fengtai", Some("Fengtai Qu"))
        );
        assert_eq!(split_paren("Hangzhou"), ("Hangzhou", None));
        assert_eq!(
            split_paren("Linfen (Xi County, Shanxi)"),
            ("Linfen", Some("Xi County"))
        );
        assert_eq!(split_paren("(x)"), ("(x)", None));
    }
}
