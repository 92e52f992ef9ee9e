//! Reporting errors and the end of tasks, one way everywhere.
//!
//! Error policy: a module returns a `thiserror` enum where its caller decides
//! something from the variant, and `anyhow` with context where the caller only
//! reports. Errors keep their cause as a source (`#[source]`, `#[from]`), never as a
//! string copied into the message. They are logged once, where they are handled,
//! as the message plus the cause chain ([`chain`]).

use std::error::Error;

use tokio::task::JoinError;

/// The exit code of every command, in both binaries, when the configuration is
/// missing or invalid: a supervisor can tell it from a crash (1).
pub const CONFIG_EXIT_CODE: u8 = 2;

/// An error's message followed by each of its causes, joined by `": "`. A cause
/// whose message the text already ends with is not repeated (lapin's `IO error: …`
/// quotes the I/O error that is also its source).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reports how a task that should run until told to stop ended, as zero-to-
/// production's `report_exit` does. Ending with `Ok` while `stopping` is the only
/// good end; an error, a panic, or an end nobody asked for is an error, so that the
/// process exits non-zero and its supervisor restarts it.
pub fn report_exit(
    task: &str,
    ended: Result<anyhow::Result<()>, JoinError>,
    stopping: bool,
) -> anyhow::Result<()> {
    let error = match ended {
        Ok(Ok(())) if stopping => {
            tracing::info!(task, "task stopped");
            return Ok(());
        }
        Ok(Ok(())) => anyhow::anyhow!("the {task} task ended on its own"),
        Ok(Err(e)) => e.context(format!("the {task} task failed")),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            anyhow::anyhow!("the {task} task panicked: {message}")
        }
        Err(e) => anyhow::Error::new(e).context(format!("the {task} task was cancelled")),
    };
    tracing::error!(task, error = %format!("{error:#}"), "task ended");
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_has_every_cause() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("IO error: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_the_message_already_quotes_is_not_repeated() {
        let e = Quoting(std::io::Error::other(
            "invalid peer certificate: UnknownIssuer",
        ));
        assert_eq!(
            chain(&e),
            "IO error: invalid peer certificate: UnknownIssuer"
        );
    }

    #[tokio::test]
    async fn a_panic_is_an_error_with_its_message() {
        let task = tokio::spawn(async {
            let v: Vec<u8> = Vec::new();
            if v.is_empty() {
                panic!("boom");
            }
            Ok(())
        });
        let e = report_exit("consumer", task.await, false).expect_err("a panic fails");
        assert!(
            format!("{e:#}").contains("consumer task panicked: boom"),
            "{e:#}"
        );
        // Even while stopping.
        let task = tokio::spawn(async { panic!("{}", String::from("late")) });
        let e = report_exit("consumer", task.await, true).expect_err("a panic fails");
        assert!(format!("{e:#}").contains("late"), "{e:#}");
    }

    #[tokio::test]
    async fn an_error_or_an_unasked_end_is_an_error_and_a_stop_is_not() {
        let failed = tokio::spawn(async { Err(anyhow::anyhow!("broker gone")) });
        let e = report_exit("supervisor", failed.await, true).expect_err("an error fails");
        assert!(format!("{e:#}").contains("broker gone"), "{e:#}");
        let ended = tokio::spawn(async { Ok(()) });
        assert!(report_exit("supervisor", ended.await, false).is_err());
        let stopped = tokio::spawn(async { Ok(()) });
        assert!(report_exit("supervisor", stopped.await, true).is_ok());
    }
}
