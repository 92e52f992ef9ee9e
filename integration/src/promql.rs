//! Just enough PromQL reading to find the metrics an expression selects, and enough
//! of the Prometheus text format to find the series a `/metrics` page exports: the
//! alerts test checks with these that every rule and dashboard panel names only
//! metrics (and label values) the binaries really export.
//!
//! Not a parser: a tokenizer that knows which identifiers are not metric names
//! (functions and aggregations, which are followed by `(` or by `by`/`without`;
//! keywords; label names inside `{…}` and in grouping lists), and skips strings,
//! ranges (`[5m]`, Grafana's `[$__rate_interval]`), numbers and durations.

use std::collections::{BTreeMap, BTreeSet};

/// A label matcher: (label, operator, value); operator is `=`, `!=`, `=~` or `!~`.
pub type Matcher = (String, String, String);

/// One vector selector: `name{label op "value", …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

/// Aggregation operators: followed by `(` or by a grouping clause.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Keywords that are never metric names.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "offset",
    "inf",
    "nan",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Keywords whose `( … )` that follows is a list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The vector selectors of `expr`, in order.
pub fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The last identifier, if it could be a metric name waiting for its `{…}`.
    let mut pending: Option<String> = None;
    let flush = |pending: &mut Option<String>, out: &mut Vec<Selector>| {
        if let Some(metric) = pending.take() {
            out.push(Selector {
                metric,
                matchers: Vec::new(),
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            flush(&mut pending, &mut out);
            i = skip_string(&chars, i)?.1;
        } else if c == '[' {
            flush(&mut pending, &mut out);
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            if i == chars.len() {
                return Err(format!("unclosed [ in {expr:?}"));
            }
            i += 1;
        } else if c == '{' {
            let (matchers, next) = label_matchers(&chars, i)?;
            i = next;
            let metric = match pending.take() {
                Some(m) => m,
                None => match matchers
                    .iter()
                    .find(|(l, op, _)| l == "__name__" && op == "=")
                {
                    Some((_, _, v)) => v.clone(),
                    None => return Err(format!("a selector without a metric name in {expr:?}")),
                },
            };
            let matchers = matchers
                .into_iter()
                .filter(|(l, _, _)| l != "__name__")
                .collect();
            out.push(Selector { metric, matchers });
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            flush(&mut pending, &mut out);
            // A number or a duration (15m, 1h30m, 1e3, 0x1f).
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else if c == '$' {
            // A Grafana variable ($__rate_interval, ${job}).
            flush(&mut pending, &mut out);
            i += 1;
            if chars.get(i) == Some(&'{') {
                while i < chars.len() && chars[i] != '}' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
            }
        } else if is_ident_start(c) {
            flush(&mut pending, &mut out);
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let next = chars.get(j).copied();
            let lower = word.to_ascii_lowercase();
            if GROUPING.contains(&lower.as_str()) {
                if next == Some('(') {
                    i = j;
                    while i < chars.len() && chars[i] != ')' {
                        i += 1;
                    }
                    if i == chars.len() {
                        return Err(format!("unclosed ( after {word} in {expr:?}"));
                    }
                    i += 1;
                }
            } else if KEYWORDS.contains(&lower.as_str()) || next == Some('(') {
                // A keyword, or a function or aggregation call.
            } else if AGGREGATIONS.contains(&lower.as_str()) {
                // `sum by (x) (…)`: the grouping clause comes next.
            } else {
                pending = Some(word);
            }
        } else {
            flush(&mut pending, &mut out);
            i += 1;
        }
    }
    flush(&mut pending, &mut out);
    Ok(out)
}

/// The string starting at `i` (its quote), unescaped, and the index after it.
fn skip_string(chars: &[char], i: usize) -> Result<(String, usize), String> {
    let quote = chars[i];
    let mut value = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        let c = chars[j];
        if c == '\\' && quote != '`' {
            if let Some(&n) = chars.get(j + 1) {
                value.push(n);
            }
            j += 2;
            continue;
        }
        if c == quote {
            return Ok((value, j + 1));
        }
        value.push(c);
        j += 1;
    }
    Err("unclosed string".into())
}

/// The matchers of the `{…}` starting at `i`, and the index after its `}`.
fn label_matchers(chars: &[char], mut i: usize) -> Result<(Vec<Matcher>, usize), String> {
    let mut out = Vec::new();
    i += 1;
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        match chars.get(i) {
            None => return Err("unclosed {".into()),
            Some('}') => return Ok((out, i + 1)),
            _ => {}
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let label: String = chars[start..i].iter().collect();
        if label.is_empty() {
            return Err(format!("a label name expected at {start}"));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let op_start = i;
        while i < chars.len() && matches!(chars[i], '=' | '!' | '~') {
            i += 1;
        }
        let op: String = chars[op_start..i].iter().collect();
        if !["=", "!=", "=~", "!~"].contains(&op.as_str()) {
            return Err(format!(
                "a matcher operator expected after {label}, got {op:?}"
            ));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if !matches!(chars.get(i), Some('"' | '\'' | '`')) {
            return Err(format!("a quoted value expected after {label}{op}"));
        }
        let (value, next) = skip_string(chars, i)?;
        i = next;
        out.push((label, op, value));
    }
}

/// The series of a Prometheus text-format page: metric name → the label sets of its
/// lines (`_bucket`, `_sum` and `_count` lines under their own names).
pub type Exported = BTreeMap<String, Vec<BTreeMap<String, String>>>;

/// Reads the series of `text` (Prometheus text format 0.0.4) into `into`.
pub fn read_exposition(text: &str, into: &mut Exported) -> Result<(), String> {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let name: String = chars[..i].iter().collect();
        if name.is_empty() {
            return Err(format!("a metric line without a name: {line:?}"));
        }
        let labels = if chars.get(i) == Some(&'{') {
            let (matchers, _) = label_matchers(&chars, i).map_err(|e| format!("{e}: {line:?}"))?;
            matchers.into_iter().map(|(l, _, v)| (l, v)).collect()
        } else {
            BTreeMap::new()
        };
        into.entry(name).or_default().push(labels);
    }
    Ok(())
}

/// What `selector` asks for that `exported` does not have: its metric, a label name
/// it matches on, or a value it asks for with `=`. Empty when all is there.
pub fn missing(selector: &Selector, exported: &Exported) -> Vec<String> {
    let Some(series) = exported.get(&selector.metric) else {
        return vec![format!("metric {} is not exported", selector.metric)];
    };
    let mut problems = Vec::new();
    for (label, op, value) in &selector.matchers {
        let values: BTreeSet<&str> = series
            .iter()
            .filter_map(|s| s.get(label).map(String::as_str))
            .collect();
        if values.is_empty() {
            problems.push(format!("{} has no label {label}", selector.metric));
        } else if op == "=" && !values.contains(value.as_str()) {
            problems.push(format!(
                "{} has no series with {label}=\"{value}\" (it has {values:?})",
                selector.metric
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        selectors(expr)
            .expect("readable")
            .into_iter()
            .map(|s| s.metric)
            .collect()
    }

    #[test]
    fn finds_metrics_and_skips_functions_keywords_and_grouping_labels() {
        let expr = r#"
          sum by (event_type) (increase(a_total{outcome="dead_lettered"}[15m])) > 0
          or
          sum by (event_type) (
            (b_total unless b_total offset 15m)
            and on (job, instance) c_up offset 15m
          )
          # a comment naming not_a_metric
        "#;
        assert_eq!(names(expr), ["a_total", "b_total", "b_total", "c_up"]);
        assert_eq!(
            names("histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))"),
            ["h_bucket"]
        );
        assert_eq!(
            names("(sum(increase(x[6h])) or on () vector(0)) == 0"),
            ["x"]
        );
        assert_eq!(names("time() - g > 86400 and g > bool 0"), ["g", "g"]);
        assert_eq!(names(r#"{__name__="n", job="w"}"#), ["n"]);
        assert_eq!(names("a / ignoring(x) group_left(y) b"), ["a", "b"]);
        assert_eq!(names("sum without (instance) (m) * 1e3"), ["m"]);
    }

    #[test]
    fn reads_matchers() {
        let s = selectors(r#"m{outcome="a", le = "120",x!~"y|z", q='it\'s'}"#).expect("readable");
        assert_eq!(
            s,
            [Selector {
                metric: "m".into(),
                matchers: vec![
                    ("outcome".into(), "=".into(), "a".into()),
                    ("le".into(), "=".into(), "120".into()),
                    ("x".into(), "!~".into(), "y|z".into()),
                    ("q".into(), "=".into(), "it's".into()),
                ],
            }]
        );
        assert!(selectors("m{outcome}").is_err());
        assert!(selectors("rate(m[5m)").is_err());
    }

    #[test]
    fn checks_selectors_against_an_exposition() {
        let text = "# HELP m_total x\n# TYPE m_total counter\nm_total{outcome=\"accepted\"} 1\n\
                    h_bucket{le=\"120\"} 0\nh_count 0\n";
        let mut exported = Exported::new();
        read_exposition(text, &mut exported).expect("readable");
        let check = |expr: &str| -> Vec<String> {
            selectors(expr)
                .expect("readable")
                .iter()
                .flat_map(|s| missing(s, &exported))
                .collect()
        };
        assert!(check(r#"m_total{outcome="accepted"} + h_bucket{le="120"} + h_count"#).is_empty());
        assert_eq!(check("m_totl").len(), 1, "a misspelt metric");
        assert_eq!(
            check(r#"m_total{outcome="acepted"}"#).len(),
            1,
            "a misspelt value"
        );
        assert_eq!(check(r#"m_total{kind=~".+"}"#).len(), 1, "a label it lacks");
        assert!(check(r#"m_total{outcome!="x"}"#).is_empty());
    }
}
