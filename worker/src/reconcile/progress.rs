//! Progress of a reconcile: a line per kind on a terminal (stderr), plain log lines
//! (at most one every [`LOG_EVERY`] per kind, and one at the end) otherwise.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tracing::info;

use super::KindCounts;

/// The least time between two progress log lines of one kind.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

const TEMPLATE: &str = "{spinner} {prefix:<14} {msg}  [{elapsed}]";

pub struct Progress {
    multi: MultiProgress,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::new(),
        }
    }

    /// Whether progress goes to the log (stderr is not a terminal).
    pub fn logs(&self) -> bool {
        self.multi.is_hidden()
    }

    pub fn kind(&self, kind: &'static str) -> KindProgress {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template(TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(kind);
        let logs = self.logs();
        if !logs {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        KindProgress {
            bar,
            kind,
            logs,
            last_log: Mutex::new(Instant::now()),
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if !self.multi.is_hidden() {
            eprintln!();
        }
    }
}

/// One kind's progress.
pub struct KindProgress {
    bar: ProgressBar,
    kind: &'static str,
    logs: bool,
    last_log: Mutex<Instant>,
}

impl KindProgress {
    /// Shows the counts so far, and what is being done (`step`).
    pub fn show(&self, step: &str, c: &KindCounts) {
        let line = format!("{step}: {}", c.message());
        if !self.logs {
            self.bar.set_message(line);
            return;
        }
        let Ok(mut last) = self.last_log.lock() else {
            return;
        };
        if last.elapsed() >= LOG_EVERY {
            *last = Instant::now();
            info!(
                kind = self.kind,
                checked = c.checked,
                missing = c.missing,
                outdated = c.outdated,
                gone = c.gone,
                "reconcile of {}: {step}",
                self.kind
            );
        }
    }

    pub fn done(&self, c: &KindCounts) {
        self.bar.finish_with_message(c.message());
    }
}

impl Drop for KindProgress {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_is_valid() {
        assert!(indicatif::ProgressStyle::with_template(super::TEMPLATE).is_ok());
    }
}
