-- The inputs the credit policy used that the decision did not store yet, so a
-- backtest can replay each decision exactly (docs/policy.md): the risk provider's
-- reason codes and whether the customer was a first-time customer.
-- Both are metadata-only changes (a constant default, no table rewrite).
-- first_time_customer is NULL for decisions written before this migration: their
-- input is unknown, and backtests treat them as not replayable.
ALTER TABLE credit_decisions
  ADD COLUMN provider_reason_codes text[] NOT NULL DEFAULT '{}',
  ADD COLUMN first_time_customer   boolean;
