//! Signed-in sessions: a random id in an HttpOnly, SameSite=Strict cookie, kept in
//! this worker's memory with its CSRF token. Signing out, or restarting the worker,
//! ends them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::{distributions::Alphanumeric, Rng};

use super::token::constant_time_eq;

/// The session cookie.
pub const COOKIE: &str = "clerk_sync_admin";
/// The sign-in form's CSRF cookie (double submit: the form must carry the same value).
pub const LOGIN_COOKIE: &str = "clerk_sync_admin_login";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest go first.
const MAX_SESSIONS: usize = 1000;

/// A random string of 32 letters and digits (about 190 bits), from the OS-seeded
/// thread RNG.
pub fn random_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    expires: Instant,
}

impl Session {
    /// Whether `candidate` is this session's CSRF token.
    pub fn csrf_ok(&self, candidate: Option<&str>) -> bool {
        candidate.is_some_and(|c| constant_time_eq(self.csrf.as_bytes(), c.as_bytes()))
    }
}

/// The sessions of this worker.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

impl Sessions {
    /// Starts a session; returns its id (the cookie value).
    pub fn create(&self) -> String {
        let id = random_token();
        let now = Instant::now();
        let session = Session {
            csrf: random_token(),
            expires: now + LIFETIME,
        };
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session);
        id
    }

    /// The live session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    pub fn remove(&self, id: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_has_its_own_csrf_token_and_ends_when_removed() {
        let sessions = Sessions::default();
        let a = sessions.create();
        let b = sessions.create();
        assert_ne!(a, b);
        let sa = sessions.get(&a).expect("live");
        let sb = sessions.get(&b).expect("live");
        assert!(sa.csrf_ok(Some(&sa.csrf)));
        assert!(!sa.csrf_ok(Some(&sb.csrf)));
        assert!(!sa.csrf_ok(None));
        sessions.remove(&a);
        assert!(sessions.get(&a).is_none());
        assert!(sessions.get("made-up").is_none());
    }
}
