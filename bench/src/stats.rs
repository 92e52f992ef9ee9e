//! Percentiles and the printed table.

use std::{fmt, time::Duration};

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub struct Row {
    what: String,
    value: String,
    ratio: String,
}

impl Row {
    pub fn rate(what: &str, value: f64, ceiling: Option<f64>) -> Self {
        Self {
            what: what.into(),
            value: format!("{value:.0}"),
            ratio: ceiling
                .filter(|c| *c > 0.0)
                .map(|c| format!("{:.0}% of ceiling", 100.0 * value / c))
                .unwrap_or_default(),
        }
    }

    pub fn millis(what: &str, d: Duration) -> Self {
        Self {
            what: what.into(),
            value: format!("{:.2} ms", d.as_secs_f64() * 1000.0),
            ratio: String::new(),
        }
    }

    pub fn megabytes(what: &str, kb: u64) -> Self {
        Self {
            what: what.into(),
            value: format!("{:.1} MB", kb as f64 / 1024.0),
            ratio: String::new(),
        }
    }

    pub fn count(what: &str, n: f64) -> Self {
        Self {
            what: what.into(),
            value: format!("{n:.0}"),
            ratio: String::new(),
        }
    }
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| measure | value | vs ceiling |")?;
        writeln!(f, "| --- | ---: | ---: |")?;
        for r in &self.rows {
            writeln!(f, "| {} | {} | {} |", r.what, r.value, r.ratio)?;
        }
        Ok(())
    }
}
