//! From a Clerk payload to an [`ObjectChange`], before any database work: whatever
//! makes an event unusable (no `data.id`, no `data.updated_at`, an invitation or a
//! domain without its organization) is found here and dead-lettered at once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::object_models::{
    NewBillingPaymentAttempt, NewBillingSubscription, NewBillingSubscriptionItem, NewDomain,
    NewInvitation, NewPermission, NewRole, NewWaitlistEntry,
};

use super::{Family, ObjectChange};
use crate::apply::{
    credentials,
    prepare::{id, string, stub, time, version, Permanent},
};

/// The change an event of `event_type` makes, and the user whose personal data it
/// carries; `None` when the type belongs to none of these families. A `*.deleted`
/// is versioned by `delete_version` (the envelope's timestamp), anything else by
/// `data.updated_at`.
pub fn prepare(
    event_type: &str,
    data: Map<String, Value>,
    delete_version: impl FnOnce() -> DateTime<Utc>,
) -> Option<Result<(ObjectChange, Option<String>), Permanent>> {
    let family = Family::of_event_type(event_type)?;
    if event_type.ends_with(".deleted") {
        return Some(id(&data).map(|id| {
            let change = ObjectChange::Tombstone {
                family,
                id,
                at: delete_version(),
                stub: stub(&data),
            };
            (change, None)
        }));
    }
    Some(upsert(family, data))
}

/// The change a Clerk object read from the Backend API makes: an upsert at its
/// `updated_at`.
pub fn object_change(
    family: Family,
    data: &Map<String, Value>,
) -> Result<(ObjectChange, Option<String>), Permanent> {
    upsert(family, data.clone())
}

fn upsert(
    family: Family,
    mut data: Map<String, Value>,
) -> Result<(ObjectChange, Option<String>), Permanent> {
    credentials::strip(family.event_kind(), &mut data);
    let id = id(&data)?;
    let updated_at = version(&data)?;
    let created_at = time(&data, "created_at");
    let change = match family {
        Family::Invitation => ObjectChange::Invitation(NewInvitation {
            id,
            organization_id: Some(organization_id(&data)?),
            email_address: string(&data, "email_address"),
            role: string(&data, "role"),
            status: status(&data),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::Domain => ObjectChange::Domain(NewDomain {
            id,
            organization_id: Some(organization_id(&data)?),
            name: string(&data, "name"),
            enrollment_mode: string(&data, "enrollment_mode"),
            verified: Some(domain_verified(&data)),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::Role => ObjectChange::Role(NewRole {
            id,
            key: string(&data, "key"),
            name: string(&data, "name"),
            description: string(&data, "description"),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::Permission => ObjectChange::Permission(NewPermission {
            id,
            key: string(&data, "key"),
            name: string(&data, "name"),
            description: string(&data, "description"),
            type_: string(&data, "type"),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::WaitlistEntry => ObjectChange::WaitlistEntry(NewWaitlistEntry {
            id,
            email_address: string(&data, "email_address"),
            status: status(&data),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::Subscription => {
            let (payer_user_id, payer_organization_id) = payer(&data);
            ObjectChange::Subscription(NewBillingSubscription {
                id,
                status: status(&data),
                payer_user_id,
                payer_organization_id,
                data: Some(Value::Object(data)),
                clerk_created_at: created_at,
                clerk_updated_at: updated_at,
                deleted_at: None,
            })
        }
        Family::SubscriptionItem => {
            let (payer_user_id, payer_organization_id) = payer(&data);
            ObjectChange::SubscriptionItem(NewBillingSubscriptionItem {
                id,
                subscription_id: string(&data, "subscription_id"),
                plan_id: string(&data, "plan_id").or_else(|| {
                    data.get("plan")
                        .and_then(|p| p.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
                status: status(&data),
                payer_user_id,
                payer_organization_id,
                data: Some(Value::Object(data)),
                clerk_created_at: created_at,
                clerk_updated_at: updated_at,
                deleted_at: None,
            })
        }
        Family::PaymentAttempt => {
            let (payer_user_id, payer_organization_id) = payer(&data);
            let (amount, currency) = amount(&data);
            ObjectChange::PaymentAttempt(NewBillingPaymentAttempt {
                id,
                status: status(&data),
                payer_user_id,
                payer_organization_id,
                amount,
                currency,
                paid_at: time(&data, "paid_at"),
                failed_at: time(&data, "failed_at"),
                data: Some(Value::Object(data)),
                clerk_created_at: created_at,
                clerk_updated_at: updated_at,
                deleted_at: None,
            })
        }
    };
    let subject = change.user_id().map(str::to_owned);
    Ok((change, subject))
}

fn organization_id(data: &Map<String, Value>) -> Result<String, Permanent> {
    string(data, "organization_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Permanent("data.organization_id is missing or not a string".into()))
}

/// A domain is verified when `verification.status` is `verified`.
fn domain_verified(data: &Map<String, Value>) -> bool {
    data.get("verification")
        .and_then(|v| v.get("status"))
        .and_then(Value::as_str)
        == Some("verified")
}

/// `data.status`, with Clerk's two spellings of one status made one: camelCase
/// (`pastDue`, as in the event type `subscriptionItem.pastDue`) is stored as the
/// snake_case the objects use (`past_due`).
fn status(data: &Map<String, Value>) -> Option<String> {
    string(data, "status").map(|s| snake_case(&s))
}

fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A payment attempt's amount, in the currency's minor unit, and its currency:
/// `amount` (`{"amount": 1999, "currency": "USD"}`, or a bare number), else
/// `totals.grand_total`.
fn amount(data: &Map<String, Value>) -> (Option<i64>, Option<String>) {
    let of = |v: &Value| match v {
        Value::Number(n) => Some((n.as_i64(), None)),
        Value::Object(o) => Some((
            o.get("amount").and_then(Value::as_i64),
            o.get("currency").and_then(Value::as_str).map(str::to_owned),
        )),
        _ => None,
    };
    data.get("amount")
        .and_then(of)
        .filter(|(a, _)| a.is_some())
        .or_else(|| {
            data.get("totals")
                .and_then(|t| t.get("grand_total"))
                .and_then(of)
        })
        .unwrap_or((None, None))
}

/// `payer.user_id` and `payer.organization_id` of a billing object.
fn payer(data: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let field = |key: &str| {
        data.get("payer")
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    (field("user_id"), field("organization_id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn an_invitation_loses_its_url() {
        let (c, _) = prepare(
            "organizationInvitation.created",
            map(json!({"id": "orginv_1", "organization_id": "org_1", "updated_at": 1,
                       "url": "https://x.example/accept?__clerk_ticket=secret", "status": "pending"})),
            Utc::now,
        )
        .expect("a family")
        .expect("valid");
        let ObjectChange::Invitation(i) = c else {
            panic!("not an invitation")
        };
        let text = i.data.expect("data").to_string();
        assert!(!text.contains("secret") && !text.contains("url"), "{text}");
        assert_eq!(i.status.as_deref(), Some("pending"));
    }

    #[test]
    fn a_missing_version_or_organization_is_permanent() {
        assert!(
            prepare("role.updated", map(json!({"id": "role_1"})), Utc::now)
                .expect("a family")
                .is_err()
        );
        assert!(prepare(
            "organizationDomain.created",
            map(json!({"id": "orgdmn_1", "updated_at": 1})),
            Utc::now
        )
        .expect("a family")
        .is_err());
        assert!(prepare("session.created", map(json!({"id": "s"})), Utc::now).is_none());
    }

    #[test]
    fn a_domain_delete_needs_no_organization_and_status_events_are_upserts() {
        let (c, _) = prepare(
            "organizationDomain.deleted",
            map(json!({"object": "organization_domain", "id": "orgdmn_1", "deleted": true})),
            Utc::now,
        )
        .expect("a family")
        .expect("valid");
        assert!(c.is_delete());
        let (c, subject) = prepare(
            "subscriptionItem.pastDue",
            map(
                json!({"id": "csubi_1", "updated_at": 1, "status": "past_due",
                       "plan": {"id": "cplan_1"}, "payer": {"user_id": "user_1"}}),
            ),
            Utc::now,
        )
        .expect("a family")
        .expect("valid");
        let ObjectChange::SubscriptionItem(i) = c else {
            panic!("not an item")
        };
        assert_eq!(i.plan_id.as_deref(), Some("cplan_1"));
        assert_eq!(subject.as_deref(), Some("user_1"));
    }

    #[test]
    fn both_spellings_of_past_due_are_one_status() {
        for spelling in ["pastDue", "past_due"] {
            let (c, _) = prepare(
                "subscription.pastDue",
                map(json!({"id": "csub_1", "updated_at": 1, "status": spelling})),
                Utc::now,
            )
            .expect("a family")
            .expect("valid");
            let ObjectChange::Subscription(s) = c else {
                panic!("not a subscription")
            };
            assert_eq!(s.status.as_deref(), Some("past_due"), "{spelling}");
        }
    }

    #[test]
    fn a_payment_attempt_keeps_its_amount_and_loses_its_card() {
        let (c, subject) = prepare(
            "paymentAttempt.updated",
            map(
                json!({"id": "cpayatt_1", "object": "commerce_payment_attempt",
                "updated_at": 2, "created_at": 1, "status": "paid", "paid_at": 2,
                "amount": {"amount": 1999, "currency": "USD", "amount_formatted": "19.99"},
                "payer": {"user_id": "user_1", "email": "a@example.org"},
                "payment_source": {"card_type": "visa", "last4": "4242", "expiry_year": 2030}}),
            ),
            Utc::now,
        )
        .expect("a family")
        .expect("valid");
        let ObjectChange::PaymentAttempt(p) = c else {
            panic!("not a payment attempt")
        };
        assert_eq!((p.amount, p.currency.as_deref()), (Some(1999), Some("USD")));
        assert_eq!(p.status.as_deref(), Some("paid"));
        assert!(p.paid_at.is_some());
        assert_eq!(subject.as_deref(), Some("user_1"));
        let text = p.data.expect("data").to_string();
        assert!(
            !text.contains("4242") && !text.contains("payment_source"),
            "{text}"
        );
    }
}
