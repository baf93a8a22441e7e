//! From a byte offset in a policy file to its line and the dotted field path there.
//!
//! Errors found while converting name their field exactly (the converter knows the path).
//! Errors that the TOML parser or serde report carry only a byte span; for those we read the
//! text around the span: the table header above it (`[payment]`, `[[pooling]]` counted as
//! `pooling[2]`) and the key on the line. The line is always exact; the path is a good reading
//! of the text, which is all a parser error can offer.

use std::collections::HashMap;

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The byte offset where the line holding `offset` starts.
fn line_start(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1)
}

/// Text lines as (start offset, line) pairs.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |l| {
        let s = start;
        start += l.len();
        (s, l.trim_end_matches(['\n', '\r']))
    })
}

/// A table header on a line: (`true` for `[[array]]`, its dotted name).
fn header(line: &str) -> Option<(bool, String)> {
    let t = line.trim_start();
    let (array, rest) = if let Some(r) = t.strip_prefix("[[") {
        (true, r)
    } else if let Some(r) = t.strip_prefix('[') {
        (false, r)
    } else {
        return None;
    };
    let close = if array { "]]" } else { "]" };
    let name = rest.split(close).next()?;
    let segments: Vec<String> = name
        .split('.')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_owned())
        .collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some((array, segments.join(".")))
}

/// The key a line assigns (`reserve = "1000.00"` → `reserve`).
fn leading_key(line: &str) -> Option<String> {
    let t = line.trim_start();
    let eq = t.find('=')?;
    let key = t[..eq].trim();
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '));
    ok.then(|| key.trim_matches(['"', '\'']).to_owned())
}

/// The dotted path of the table in force at `offset` (including a header on that very line),
/// with array-of-tables elements numbered from 0: `contribution.years[1].categories[0]`.
fn table_path_at(text: &str, offset: usize) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut current = String::new();
    let target = line_start(text, offset);
    for (start, line) in lines(text) {
        if start > target {
            break;
        }
        let Some((array, name)) = header(line) else {
            continue;
        };
        if array {
            *counts.entry(name.clone()).or_insert(0) += 1;
            let child = format!("{name}.");
            counts.retain(|k, _| !k.starts_with(&child));
        }
        current = format_path(&name, &counts);
    }
    current
}

fn format_path(name: &str, counts: &HashMap<String, usize>) -> String {
    let mut prefix = String::new();
    let mut out = String::new();
    for seg in name.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
            out.push('.');
        }
        prefix.push_str(seg);
        out.push_str(seg);
        if let Some(n) = counts.get(&prefix) {
            out.push_str(&format!("[{}]", n.saturating_sub(1)));
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    match (path.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (_, true) => path.to_owned(),
        _ => format!("{path}.{key}"),
    }
}

/// The field a value at `offset` belongs to: the table path plus the nearest key at or above
/// the offset's line (multi-line arrays continue a key from an earlier line).
pub(crate) fn field_of_value(text: &str, offset: usize) -> String {
    let path = table_path_at(text, offset);
    let target = line_start(text, offset);
    let mut key = None;
    for (start, line) in lines(text) {
        if start > target {
            break;
        }
        if header(line).is_some() {
            key = None;
        } else if let Some(k) = leading_key(line) {
            key = Some(k);
        }
    }
    join(&path, key.as_deref().unwrap_or(""))
}

/// The field named `name` inside the table that holds `offset` (for unknown and missing fields).
/// An inline table (`p = { ... }`) on the offset's line counts as a table of its own.
pub(crate) fn field_in_table(text: &str, offset: usize, name: &str) -> String {
    let path = table_path_at(text, offset);
    let start = line_start(text, offset);
    let line_end = text[start..].find('\n').map_or(text.len(), |p| start + p);
    let line = &text[start..line_end];
    if header(line).is_none() {
        if let Some(key) = leading_key(line) {
            let within = offset.saturating_sub(start);
            if line.find('{').is_some_and(|brace| within >= brace) {
                return join(&join(&path, &key), name);
            }
        }
    }
    join(&path, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "id = \"x\"\n[binding]\nsame_province_only = true\n[[binding.scope]]\nfrom = 2024-01-01\n[[binding.scope]]\nfrom = 2025-01-01\nclasses = [\n  \"spouse\",\n  3,\n]\n[[contribution.years]]\nyear = 1\n[[contribution.years.categories]]\ncode = \"a\"\n[[contribution.years]]\n[[contribution.years.categories]]\ncode = \"b\"\np = { a = 1, zz = 2 }\n";

    fn at(needle: &str) -> usize {
        DOC.find(needle).unwrap_or(usize::MAX)
    }

    #[test]
    fn paths_count_arrays_of_tables() {
        assert_eq!(field_of_value(DOC, at("\"x\"")), "id");
        assert_eq!(
            field_of_value(DOC, at("true")),
            "binding.same_province_only"
        );
        assert_eq!(
            field_of_value(DOC, at("2025-01-01")),
            "binding.scope[1].from"
        );
        assert_eq!(field_of_value(DOC, at("3,")), "binding.scope[1].classes");
        assert_eq!(
            field_of_value(DOC, at("\"b\"")),
            "contribution.years[1].categories[0].code"
        );
        assert_eq!(line_of(DOC, at("3,")), 10);
    }

    #[test]
    fn tables_for_unknown_and_missing_fields() {
        assert_eq!(field_in_table(DOC, 0, "name_zh"), "name_zh");
        assert_eq!(
            field_in_table(DOC, at("[[binding.scope]]"), "classes"),
            "binding.scope[0].classes"
        );
        assert_eq!(
            field_in_table(DOC, at("zz"), "zz"),
            "contribution.years[1].categories[0].p.zz"
        );
    }
}
