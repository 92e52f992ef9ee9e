//! `worker migrate`: create the database and DATABASE_SCHEMA if needed (moving an
//! older install's tables from public into it), run the migrations, and exit.

use std::time::Duration;

use clap::Args;

use crate::{settings, startup};

#[derive(Debug, Args)]
pub struct Migrate {}

impl Migrate {
    pub async fn run(self) -> anyhow::Result<()> {
        let url = settings::database_url()?;
        let schema = settings::database_schema()?;
        let done = startup::migrate(&url, &schema, Duration::from_secs(30)).await?;
        if done.created_schema {
            println!("schema {schema} created");
        }
        if !done.moved_from_public.is_empty() {
            println!(
                "moved {} tables and functions of an older install from public into schema {schema}: {}",
                done.moved_from_public.len(),
                done.moved_from_public.join(", ")
            );
        }
        println!("migrations applied: {}", done.applied.len());
        Ok(())
    }
}
