-- The forward migration of spec section 11.2: the reference's schema defects fixed
-- (B-02, B-19, B-26, B-27, B-43). Constraint names follow PostgreSQL's defaults.

-- B-02: GTIN optional; the unique constraint still applies to non-null values.
ALTER TABLE products ALTER COLUMN gtin DROP NOT NULL;

-- Balances never go negative, whatever writes them.
ALTER TABLE stocks ADD CONSTRAINT stocks_quantity_check CHECK (quantity >= 0);
ALTER TABLE defect_stocks ADD CONSTRAINT defect_stocks_quantity_check CHECK (quantity >= 0);

-- B-26: only known operation types; ledger sanity (import rows carry signed deltas).
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_operation_type_check CHECK (
    operation_type IN (
        'receipt', 'receipt_defect', 'shipment_rc', 'return_pickup', 'return_defect',
        'self_purchase', 'write_off', 'restoration', 'utilization',
        'import_stock', 'import_defect'
    )
);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_quantity_check CHECK (
    quantity <> 0 AND (quantity > 0 OR operation_type IN ('import_stock', 'import_defect'))
);

-- B-26: database defaults.
ALTER TABLE users ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE users ALTER COLUMN is_active SET DEFAULT true;
ALTER TABLE sources ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE distribution_centers ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE products ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE products ALTER COLUMN is_deleted SET DEFAULT false;
ALTER TABLE stocks ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE stocks ALTER COLUMN quantity SET DEFAULT 0;
ALTER TABLE defect_stocks ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE defect_stocks ALTER COLUMN quantity SET DEFAULT 0;
ALTER TABLE stock_movements ALTER COLUMN id SET DEFAULT gen_random_uuid();

-- B-19: history keeps its references; deleting a referenced source or DC is refused (409).
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_source_id_fkey;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_source_id_fkey
    FOREIGN KEY (source_id) REFERENCES sources (id) ON DELETE RESTRICT;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_distribution_center_id_fkey;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_distribution_center_id_fkey
    FOREIGN KEY (distribution_center_id) REFERENCES distribution_centers (id) ON DELETE RESTRICT;

-- B-27 and B-17: FK indexes, stable orderings; drop duplicates of unique constraints.
CREATE INDEX ix_stock_movements_source_id ON stock_movements (source_id);
CREATE INDEX ix_stock_movements_distribution_center_id ON stock_movements (distribution_center_id);
CREATE INDEX ix_stock_movements_created_at_id ON stock_movements (created_at DESC, id DESC);
CREATE INDEX ix_products_created_at_id ON products (created_at DESC, id DESC) WHERE NOT is_deleted;
DROP INDEX ix_products_barcode;
DROP INDEX ix_products_gtin;
DROP INDEX ix_users_email;

-- B-43: seeding happens once; this one-row table records that it did.
CREATE TABLE seed_state (
    id boolean NOT NULL DEFAULT true,
    seeded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seed_state_pkey PRIMARY KEY (id),
    CONSTRAINT seed_state_id_check CHECK (id)
);
