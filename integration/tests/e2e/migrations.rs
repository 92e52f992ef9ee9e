//! Every `down.sql` is proven by running it (shared/migrations/README.md): a
//! migrated database is reverted migration by migration, last first, until nothing
//! is left, then migrated again to the same schema.

use diesel::{prelude::*, sql_query, sql_types::Text, PgConnection};
use diesel_migrations::MigrationHarness;
use integration::TestDb;
use shared::db::MIGRATIONS;

#[derive(QueryableByName, Debug, PartialEq, Eq, Clone)]
struct Column {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Every table, column, type, nullability, default and index of our schema,
/// as sorted lines, without diesel's own bookkeeping.
fn schema(c: &mut PgConnection) -> Vec<String> {
    let mut lines: Vec<String> = sql_query(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
                || ' ' || coalesce(column_default, '') AS line \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations' \
         UNION ALL \
         SELECT indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename <> '__diesel_schema_migrations'",
    )
    .load::<Column>(c)
    .expect("schema readable")
    .into_iter()
    .map(|c| c.line)
    .collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn every_down_sql_reverts_its_migration_and_the_migrations_run_again() {
    let db = TestDb::new().await;
    db.with(|c| {
        let before = schema(c);
        assert!(before
            .iter()
            .any(|l| l.starts_with("billing_subscription_items.plan_id ")));
        let applied = c.applied_migrations().expect("applied migrations").len();
        assert!(applied >= 3, "the test database is migrated");
        for n in (0..applied).rev() {
            c.revert_last_migration(MIGRATIONS)
                .unwrap_or_else(|e| panic!("down.sql of migration {n} runs: {e}"));
            assert_eq!(c.applied_migrations().expect("applied").len(), n);
        }
        assert_eq!(schema(c), Vec::<String>::new(), "nothing is left");
        let again = c
            .run_pending_migrations(MIGRATIONS)
            .expect("up.sql runs again");
        assert_eq!(again.len(), applied);
        assert_eq!(schema(c), before, "the same schema as before");
    })
    .await;
}
