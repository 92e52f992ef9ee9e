//! Credentials Clerk puts in payloads, removed before anything is written: rows
//! (`data` and the other columns) and stored payloads alike (DESIGN.md §5).
//!
//! Clerk's sign-in and sign-up links carry a `__clerk_ticket` query parameter that
//! signs whoever follows the link in. The whole URL is dropped, not just the
//! parameter: without its ticket the link is only Clerk's sign-up page, nothing an
//! application needs, and a URL rewritten by us could keep a credential under a name
//! we do not know of (a `redirect_url` holding its own token, say).
//!
//! Dropped:
//! - an invitation's `url` (`organizationInvitation.*`, and Clerk's instance-wide
//!   `invitation.*`, which no table syncs but whose payload may be stored);
//! - a waitlist entry's `invitation.url` (`waitlistEntry.*`);
//! - anywhere else, any string that holds `__clerk_ticket`, in case Clerk puts such
//!   a link in a field of its own.
//!
//! One-time codes are kept out another way: `email.*`, `sms.*` and `session.*`
//! payloads are never stored at all (see `payload`), and no table syncs them.

use serde_json::{Map, Value};

/// The query parameter of Clerk's links that signs their holder in.
pub const TICKET_PARAMETER: &str = "__clerk_ticket";

/// Removes the credentials from the `data` of an event of kind `kind` (the part of
/// the event type before the dot: `waitlistEntry`, `organizationInvitation`, …).
pub fn strip(kind: &str, data: &mut Map<String, Value>) {
    drop_links(kind, data);
    drop_ticket_strings(data);
}

/// Removes the sign-in links a kind is known to carry (the first half of [`strip`],
/// for a caller that walks a larger document with [`drop_ticket_strings`] itself).
pub fn drop_links(kind: &str, data: &mut Map<String, Value>) {
    match kind {
        "organizationInvitation" | "invitation" => {
            data.remove("url");
        }
        "waitlistEntry" => {
            if let Some(Value::Object(invitation)) = data.get_mut("invitation") {
                invitation.remove("url");
            }
        }
        // Card details (brand, last four digits, expiry, wallet): not ours to keep.
        "paymentAttempt" => {
            data.remove("payment_source");
            data.remove("payment_method");
        }
        _ => {}
    }
}

/// Removes, at any depth, every field and array item that is a string holding
/// [`TICKET_PARAMETER`].
pub fn drop_ticket_strings(fields: &mut Map<String, Value>) {
    fields.retain(|_, v| !holds_ticket(v));
    fields.values_mut().for_each(drop_in_value);
}

fn drop_in_value(value: &mut Value) {
    match value {
        Value::Object(fields) => drop_ticket_strings(fields),
        Value::Array(items) => {
            items.retain(|v| !holds_ticket(v));
            items.iter_mut().for_each(drop_in_value);
        }
        _ => {}
    }
}

fn holds_ticket(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains(TICKET_PARAMETER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn invitation_and_waitlist_urls_go_and_the_rest_stays() {
        let mut inv =
            map(json!({"id": "orginv_1", "url": "https://x.example/a", "status": "pending"}));
        strip("organizationInvitation", &mut inv);
        assert_eq!(
            Value::Object(inv),
            json!({"id": "orginv_1", "status": "pending"})
        );
        let mut inv = map(json!({"id": "inv_1", "url": "https://x.example/a"}));
        strip("invitation", &mut inv);
        assert_eq!(Value::Object(inv), json!({"id": "inv_1"}));
        let mut entry = map(json!({"id": "wle_1", "status": "invited",
            "invitation": {"id": "inv_1", "url": "https://x.example/a", "status": "pending"}}));
        strip("waitlistEntry", &mut entry);
        assert_eq!(
            Value::Object(entry),
            json!({"id": "wle_1", "status": "invited", "invitation": {"id": "inv_1", "status": "pending"}})
        );
        let mut entry = map(json!({"id": "wle_2", "invitation": null}));
        strip("waitlistEntry", &mut entry);
        assert_eq!(
            Value::Object(entry),
            json!({"id": "wle_2", "invitation": null})
        );
    }

    #[test]
    fn a_ticket_anywhere_else_goes_too() {
        let mut data = map(json!({"id": "role_1", "url": "https://x.example/keep",
            "links": ["https://x.example/?__clerk_ticket=t1", "https://x.example/keep"],
            "nested": {"deep": [{"link": "https://x.example/?a=1&__clerk_ticket=t2"}]}}));
        strip("role", &mut data);
        assert_eq!(
            Value::Object(data),
            json!({"id": "role_1", "url": "https://x.example/keep",
                   "links": ["https://x.example/keep"], "nested": {"deep": [{}]}})
        );
    }
}
