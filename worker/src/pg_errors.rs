//! What a failed Postgres statement means for the events it carried, decided by the
//! error's SQLSTATE (and Diesel's own error kinds), never by its message text: a
//! user's trigger may raise any text it likes, and messages are translated.
//!
//! The SQLSTATE comes from Diesel's `DatabaseErrorInformation::sql_state`, which
//! our patched Diesel adds (see `vendor/README.md`).

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a failed statement says about whose fault it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Postgres cannot do the work now, whatever the event: the connection is gone,
    /// the server is shutting down or starting, it is out of disk, memory or
    /// connections, or it is read-only (a replica after a failover). The events are
    /// held until it is back; no attempt is charged.
    Outage,
    /// The transaction lost a race with another one (a deadlock, or a serialization
    /// failure). Running it again now is expected to succeed; no attempt is charged.
    RetryNow,
    /// Anything else: perhaps the event's fault, perhaps a passing fault of the
    /// server. Retried with backoff, charged, and dead-lettered in the end (unless a
    /// probe shows Postgres is down after all).
    Other,
}

impl ErrorClass {
    /// The class of a SQLSTATE code, by the Postgres manual's appendix A.
    pub fn of_sql_state(code: &str) -> Self {
        match code {
            // Class 08: connection exception. Class 53: insufficient resources
            // (disk full, out of memory, too many connections, ...).
            c if c.starts_with("08") || c.starts_with("53") => Self::Outage,
            // admin_shutdown, crash_shutdown, cannot_connect_now; read_only_sql_transaction.
            "57P01" | "57P02" | "57P03" | "25006" => Self::Outage,
            // deadlock_detected, serialization_failure.
            "40P01" | "40001" => Self::RetryNow,
            _ => Self::Other,
        }
    }

    /// The class of a Diesel error.
    pub fn of(e: &DieselError) -> Self {
        match e {
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ReadOnlyTransaction => Self::Outage,
                DatabaseErrorKind::SerializationFailure => Self::RetryNow,
                _ => info.sql_state().map_or(Self::Other, Self::of_sql_state),
            },
            // The connection's transaction state is unknown: it is dropped, and the
            // work is done again on another.
            DieselError::BrokenTransactionManager => Self::Outage,
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_states_by_class() {
        use ErrorClass::*;
        for (code, class) in [
            ("08000", Outage),
            ("08006", Outage),
            ("08P01", Outage),
            ("53000", Outage),
            ("53100", Outage),
            ("53200", Outage),
            ("53300", Outage),
            ("57P01", Outage),
            ("57P02", Outage),
            ("57P03", Outage),
            ("25006", Outage),
            ("40P01", RetryNow),
            ("40001", RetryNow),
            // A statement timeout, a user's trigger, bad data, a constraint.
            ("57014", Other),
            ("P0001", Other),
            ("22P02", Other),
            ("23505", Other),
            ("40002", Other),
            ("", Other),
        ] {
            assert_eq!(ErrorClass::of_sql_state(code), class, "{code}");
        }
    }

    #[test]
    fn diesel_kinds_without_a_sql_state() {
        // A message that reads like a lost connection is still not an outage.
        let text = |kind| {
            DieselError::DatabaseError(kind, Box::new("could not connect to server".to_string()))
        };
        assert_eq!(
            ErrorClass::of(&text(DatabaseErrorKind::Unknown)),
            ErrorClass::Other
        );
        assert_eq!(
            ErrorClass::of(&text(DatabaseErrorKind::ClosedConnection)),
            ErrorClass::Outage
        );
        assert_eq!(
            ErrorClass::of(&text(DatabaseErrorKind::SerializationFailure)),
            ErrorClass::RetryNow
        );
        assert_eq!(ErrorClass::of(&DieselError::NotFound), ErrorClass::Other);
        assert_eq!(
            ErrorClass::of(&DieselError::BrokenTransactionManager),
            ErrorClass::Outage
        );
    }
}
