-- Loses the payment attempts; `worker backfill` cannot refill them (Clerk's Backend
-- API lists none), webhooks from then on can.
DROP TABLE billing_payment_attempts;
