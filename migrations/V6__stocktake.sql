-- The warehouse floor (issue 19, docs/floor-api.md): stocktakes (cycle counts) and the two
-- ledger-only movement types an approved stocktake writes.

-- `stocktake_stock` / `stocktake_defect` carry signed differences, like the import's rows.
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_operation_type_check;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_operation_type_check CHECK (
    operation_type IN (
        'receipt', 'receipt_defect', 'shipment_rc', 'return_pickup', 'return_defect',
        'self_purchase', 'write_off', 'restoration', 'utilization',
        'import_stock', 'import_defect', 'stocktake_stock', 'stocktake_defect'
    )
);
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_quantity_check;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_quantity_check CHECK (
    quantity <> 0 AND (
        quantity > 0
        OR operation_type IN ('import_stock', 'import_defect', 'stocktake_stock', 'stocktake_defect')
    )
);

CREATE TABLE stocktakes (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    status varchar(20) NOT NULL DEFAULT 'open',
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid NOT NULL,
    closed_at timestamptz,
    closed_by uuid,
    reason varchar(255),
    CONSTRAINT stocktakes_pkey PRIMARY KEY (id),
    CONSTRAINT stocktakes_status_check CHECK (status IN ('open', 'approved', 'cancelled')),
    CONSTRAINT stocktakes_closed_check CHECK ((status = 'open') = (closed_at IS NULL)),
    CONSTRAINT stocktakes_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT stocktakes_closed_by_fkey FOREIGN KEY (closed_by) REFERENCES users (id)
);
CREATE INDEX ix_stocktakes_created_at_id ON stocktakes (created_at DESC, id DESC);

-- One row per product counted. `expected_*` are the balances when the stocktake started;
-- `balance_at_count_*` the balances when the line was last counted, so the journal's net
-- change between the two (`moved`) is exact without comparing timestamps of concurrent
-- transactions: every balance change is journaled (the ledger check).
CREATE TABLE stocktake_lines (
    stocktake_id uuid NOT NULL,
    product_id uuid NOT NULL,
    expected_quantity integer NOT NULL,
    expected_defect_quantity integer NOT NULL,
    counted_quantity integer,
    counted_defect_quantity integer,
    counted_at timestamptz,
    balance_at_count_quantity integer,
    balance_at_count_defect_quantity integer,
    CONSTRAINT stocktake_lines_pkey PRIMARY KEY (stocktake_id, product_id),
    CONSTRAINT stocktake_lines_stocktake_id_fkey FOREIGN KEY (stocktake_id)
        REFERENCES stocktakes (id) ON DELETE CASCADE,
    CONSTRAINT stocktake_lines_product_id_fkey FOREIGN KEY (product_id)
        REFERENCES products (id) ON DELETE RESTRICT,
    CONSTRAINT stocktake_lines_counted_check CHECK (
        counted_quantity >= 0 AND counted_defect_quantity >= 0
    ),
    CONSTRAINT stocktake_lines_count_complete_check CHECK (
        (counted_at IS NULL) = (counted_quantity IS NULL)
        AND (counted_at IS NULL) = (counted_defect_quantity IS NULL)
        AND (counted_at IS NULL) = (balance_at_count_quantity IS NULL)
        AND (counted_at IS NULL) = (balance_at_count_defect_quantity IS NULL)
    )
);
CREATE INDEX ix_stocktake_lines_product_id ON stocktake_lines (product_id);
