-- Our additions beyond the reference: user roles, case-insensitive e-mail uniqueness,
-- settings shared by every replica (the generated JWT secret), stored idempotency keys, and
-- an index for a product's journal in order.

-- Existing users (the reference's seeded admin) become admins; new rows name their role.
ALTER TABLE users ADD COLUMN role varchar(20) NOT NULL DEFAULT 'admin';
ALTER TABLE users ALTER COLUMN role SET DEFAULT 'operator';
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'operator'));
-- B-24: e-mail addresses are compared case-insensitively, so they are unique that way.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Settings every replica must share; `jwt_secret` is generated once when SECRET_KEY is unset.
CREATE TABLE app_settings (
    name varchar(100) NOT NULL,
    value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_settings_pkey PRIMARY KEY (name)
);

-- `Idempotency-Key` of POST /api/stock/movements, per user: the first response is replayed.
CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL,
    key varchar(255) NOT NULL,
    request_hash varchar(64) NOT NULL,
    status_code smallint,
    response jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_keys_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);

-- A product's journal, newest first (the product details page filters by product_id).
CREATE INDEX ix_stock_movements_product_created_id
    ON stock_movements (product_id, created_at DESC, id DESC);
