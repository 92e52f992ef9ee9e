//! `worker backfill`: read Clerk's current objects from its Backend API and apply
//! them under the ordering rules.

use std::time::Duration;

use clap::Args;

use crate::{
    backfill::{self, ClerkApiSettings, Kinds},
    startup,
};

/// Which kinds a backfill or a reconcile reads (no flag: users, organizations and
/// memberships).
#[derive(Debug, Args)]
pub struct KindFlags {
    #[arg(long)]
    pub users: bool,
    #[arg(long)]
    pub organizations: bool,
    #[arg(long)]
    pub memberships: bool,
    /// Also invitations, domains, roles, permissions, waitlist entries and
    /// billing subscription items (with no other flag: everything).
    #[arg(long)]
    pub all_objects: bool,
}

impl KindFlags {
    pub(super) fn three(&self) -> Kinds {
        Kinds::from_flags(self.users, self.organizations, self.memberships)
    }
}

#[derive(Debug, Args)]
pub struct Backfill {
    #[command(flatten)]
    pub kinds: KindFlags,
}

impl Backfill {
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = ClerkApiSettings::from_env()?;
        let pool = migrated_pool(&settings).await?;
        let client = settings.client()?;
        let kinds = self.kinds.three().with_all_objects(self.kinds.all_objects);
        tracing::info!(api = %settings.api_url, %kinds, "backfill starting");
        let summary = tokio::select! {
            summary = backfill::backfill(&pool, &client, kinds) => summary?,
            _ = tokio::signal::ctrl_c() => anyhow::bail!(
                "interrupted: the pages applied so far stay; run `worker backfill` again to finish (it is safe to rerun)"
            ),
        };
        print!("{summary}");
        Ok(())
    }
}

/// For backfill and reconcile: migrates (waiting up to 30 s for Postgres), then a
/// pool of two connections.
pub(super) async fn migrated_pool(
    settings: &ClerkApiSettings,
) -> anyhow::Result<shared::db::PgPool> {
    let done = startup::migrate(
        &settings.database_url,
        &settings.database_schema,
        Duration::from_secs(30),
    )
    .await?;
    if !done.applied.is_empty() {
        tracing::info!(migrations = ?done.applied, "database migrated");
    }
    shared::db::pool(&settings.database_url, &settings.database_schema, 2)
}
