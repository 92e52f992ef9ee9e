//! Percentiles and the printed tables.

use std::{fmt, time::Duration};

use crate::cpu::Spent;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A target and whether it was met.
fn verdict(what: String, met: bool) -> String {
    format!("{what}: {}", if met { "met" } else { "NOT met" })
}

pub struct Row {
    what: String,
    value: String,
    ratio: String,
    target: String,
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
            target: String::new(),
        }
    }

    pub fn millis(what: &str, d: Duration) -> Self {
        Self {
            what: what.into(),
            value: format!("{:.2} ms", d.as_secs_f64() * 1000.0),
            ratio: String::new(),
            target: String::new(),
        }
    }

    pub fn megabytes(what: &str, kb: u64) -> Self {
        Self {
            what: what.into(),
            value: format!("{:.1} MB", kb as f64 / 1024.0),
            ratio: String::new(),
            target: String::new(),
        }
    }

    pub fn count(what: &str, n: f64) -> Self {
        Self {
            what: what.into(),
            value: format!("{n:.0}"),
            ratio: String::new(),
            target: String::new(),
        }
    }

    /// At least `min` of the ceiling (a rate row).
    pub fn at_least_of_ceiling(mut self, value: f64, ceiling: f64, min: f64) -> Self {
        self.target = verdict(
            format!("≥ {:.0}%", min * 100.0),
            ceiling > 0.0 && value / ceiling >= min,
        );
        self
    }

    pub fn at_least(mut self, value: f64, min: f64, shown: &str) -> Self {
        self.target = verdict(format!("≥ {shown}"), value >= min);
        self
    }

    pub fn at_most(mut self, value: f64, max: f64, shown: &str) -> Self {
        self.target = verdict(format!("≤ {shown}"), value <= max);
        self
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
        writeln!(f, "| measure | value | vs ceiling | target |")?;
        writeln!(f, "| --- | ---: | ---: | --- |")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {} | {} | {} |",
                r.what, r.value, r.ratio, r.target
            )?;
        }
        Ok(())
    }
}

/// One component's CPU per event, beside its floor.
pub struct CpuRow {
    what: String,
    ours: f64,
    floor: f64,
    floor_is: String,
    min_ratio: Option<f64>,
}

#[derive(Default)]
pub struct CpuTable {
    rows: Vec<CpuRow>,
    notes: Vec<String>,
}

impl CpuTable {
    /// A line printed under the table.
    pub fn note(&mut self, line: String) {
        self.notes.push(line);
    }

    /// A component: our CPU per event, the floor's, what the floor is, and the
    /// target floor/ours ratio if there is one.
    pub fn push(
        &mut self,
        what: &str,
        ours: f64,
        floor: f64,
        floor_is: &str,
        min_ratio: Option<f64>,
    ) {
        self.rows.push(CpuRow {
            what: what.into(),
            ours,
            floor,
            floor_is: floor_is.into(),
            min_ratio,
        });
    }

    pub fn push_spent(
        &mut self,
        what: &str,
        ours: Spent,
        floor: Spent,
        floor_is: &str,
        min_ratio: Option<f64>,
    ) {
        self.push(
            what,
            ours.micros_per_event(),
            floor.micros_per_event(),
            floor_is,
            min_ratio,
        );
    }
}

impl fmt::Display for CpuTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| CPU µs per event | ours | floor | floor / ours | target | the floor is |"
        )?;
        writeln!(f, "| --- | ---: | ---: | ---: | --- | --- |")?;
        for r in &self.rows {
            let ratio = r.floor / r.ours;
            let target = r
                .min_ratio
                .map(|m| verdict(format!("≥ {m:.2}"), ratio >= m))
                .unwrap_or_default();
            writeln!(
                f,
                "| {} | {:.1} | {:.1} | {:.2} | {} | {} |",
                r.what, r.ours, r.floor, ratio, target, r.floor_is
            )?;
        }
        for n in &self.notes {
            writeln!(f, "\n{n}")?;
        }
        Ok(())
    }
}
