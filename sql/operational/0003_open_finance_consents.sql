-- Open Finance consents the lender obtained from its customers (docs/openfinance.md).
-- The app creates a consent at the customer's bank (OFB consents v3) and stores here
-- what the bank answered; `lastro ingest openfinance` pulls bank data only for rows
-- that are AUTHORISED, not revoked and not expired, and re-checks each with the bank.
-- Statuses are OFB's (a revoked consent is REJECTED with reason
-- CUSTOMER_MANUALLY_REVOKED); text + CHECK as elsewhere (ADR 0004).
CREATE TABLE open_finance_consents (
  consent_id        text PRIMARY KEY
                    CHECK (consent_id ~ '^urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[^[:space:]]+$'
                           AND length(consent_id) <= 256),
  customer_id       bigint NOT NULL REFERENCES customers (id),
  status            text NOT NULL
                    CHECK (status IN ('AWAITING_AUTHORISATION', 'AUTHORISED', 'REJECTED')),
  permissions       text[] NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  status_updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  revoked_at        timestamptz,
  rejection_reason  text,
  CHECK (expires_at > created_at),
  CHECK (revoked_at IS NULL OR status = 'REJECTED'),
  CHECK ((status = 'REJECTED') = (rejection_reason IS NOT NULL))
);
-- A customer's consents (the app's screens); the ingest's read of the live ones.
CREATE INDEX open_finance_consents_customer_idx ON open_finance_consents (customer_id);
CREATE INDEX open_finance_consents_live_idx ON open_finance_consents (expires_at)
  WHERE status = 'AUTHORISED' AND revoked_at IS NULL;
