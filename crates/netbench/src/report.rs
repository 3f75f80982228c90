//! What a run prints: the same figures as readable lines, or as one JSON object (`--json`)
//! for `bench/compare`. The JSON is written by hand: a flat object of numbers and strings
//! needs no serializer crate.

use std::fmt::Write as _;

use crate::histogram::Histogram;

/// One figure of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A rate or a latency, printed with up to two decimals.
    Num(f64),
    /// A word or an address.
    Text(String),
}

/// A flat, ordered list of named figures.
#[derive(Debug, Default)]
pub struct Report {
    fields: Vec<(&'static str, Value)>,
}

impl Report {
    /// Adds a count.
    pub fn int(&mut self, name: &'static str, value: u64) -> &mut Self {
        self.fields.push((name, Value::Int(value)));
        self
    }

    /// Adds a rate or a duration.
    pub fn num(&mut self, name: &'static str, value: f64) -> &mut Self {
        self.fields.push((name, Value::Num(value)));
        self
    }

    /// Adds a word.
    pub fn text(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.fields.push((name, Value::Text(value.into())));
        self
    }

    /// Adds `p50_us`, `p99_us` and `max_us` of `latency`.
    pub fn latency(&mut self, latency: &Histogram) -> &mut Self {
        self.num("p50_us", latency.quantile_us(0.50))
            .num("p99_us", latency.quantile_us(0.99))
            .num("max_us", latency.max_us())
    }

    /// The value of field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// One JSON object on one line.
    ///
    /// ```
    /// let mut report = netbench::report::Report::default();
    /// report.text("mode", "echo").int("errors", 0).num("rate", 1.5);
    /// assert_eq!(report.to_json(), r#"{"mode":"echo","errors":0,"rate":1.50}"#);
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{name}\":");
            match value {
                Value::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::Num(x) if x.is_finite() => {
                    let _ = write!(out, "{x:.2}");
                }
                Value::Num(_) => out.push_str("null"),
                Value::Text(text) => {
                    out.push('"');
                    for c in text.chars() {
                        match c {
                            '"' => out.push_str("\\\""),
                            '\\' => out.push_str("\\\\"),
                            c if c.is_control() => {
                                let _ = write!(out, "\\u{:04x}", c as u32);
                            }
                            c => out.push(c),
                        }
                    }
                    out.push('"');
                }
            }
        }
        out.push('}');
        out
    }

    /// One `name: value` line per figure.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.fields {
            let _ = match value {
                Value::Int(n) => writeln!(out, "{name:>14}: {n}"),
                Value::Num(x) => writeln!(out, "{name:>14}: {x:.2}"),
                Value::Text(t) => writeln!(out, "{name:>14}: {t}"),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_text_and_keeps_order() {
        let mut report = Report::default();
        report
            .text("target", "a\"b\\c\n")
            .num("nan", f64::NAN)
            .int("n", 3);
        assert_eq!(
            report.to_json(),
            r#"{"target":"a\"b\\c\u000a","nan":null,"n":3}"#
        );
        assert_eq!(report.get("n"), Some(&Value::Int(3)));
        assert!(report.to_text().contains("             n: 3\n"));
    }
}
