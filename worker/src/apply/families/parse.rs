//! From a Clerk payload to an [`ObjectChange`], before any database work: whatever
//! makes an event unusable (no `data.id`, no `data.updated_at`, an invitation or a
//! domain without its organization) is found here and dead-lettered at once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::object_models::{
    NewBillingSubscription, NewBillingSubscriptionItem, NewDomain, NewInvitation, NewPermission,
    NewRole, NewWaitlistEntry,
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
            status: string(&data, "status"),
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
            status: string(&data, "status"),
            data: Some(Value::Object(data)),
            clerk_created_at: created_at,
            clerk_updated_at: updated_at,
            deleted_at: None,
        }),
        Family::Subscription => {
            let (payer_user_id, payer_organization_id) = payer(&data);
            ObjectChange::Subscription(NewBillingSubscription {
                id,
                status: string(&data, "status"),
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
                status: string(&data, "status"),
                payer_user_id,
                payer_organization_id,
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
}
