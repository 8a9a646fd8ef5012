-- Baseline: the reference schema exactly as its Alembic revisions 001-003 leave it
-- (spec section 11.1): table, column, type, default and constraint names are identical, so a
-- database created by the reference can be adopted. `wms migrate` records this migration as
-- applied, without running it, when it finds `alembic_version` = '003'.

-- Revision 001
CREATE TABLE users (
    id uuid NOT NULL,
    email varchar(255) NOT NULL,
    hashed_password varchar(255) NOT NULL,
    is_active boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX ix_users_email ON users (email);

CREATE TABLE sources (
    id uuid NOT NULL,
    name varchar(255) NOT NULL,
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sources_pkey PRIMARY KEY (id),
    CONSTRAINT sources_name_key UNIQUE (name)
);

CREATE TABLE distribution_centers (
    id uuid NOT NULL,
    code varchar(50) NOT NULL,
    name varchar(255) NOT NULL,
    marketplace varchar(50) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT distribution_centers_pkey PRIMARY KEY (id),
    CONSTRAINT distribution_centers_code_key UNIQUE (code)
);

-- Revision 002
CREATE TABLE products (
    id uuid NOT NULL,
    barcode varchar(100) NOT NULL,
    gtin varchar(14) NOT NULL,
    seller_sku varchar(100),
    size varchar(50),
    brand varchar(255),
    color varchar(100),
    is_deleted boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_pkey PRIMARY KEY (id),
    CONSTRAINT products_barcode_key UNIQUE (barcode),
    CONSTRAINT products_gtin_key UNIQUE (gtin)
);
CREATE INDEX ix_products_barcode ON products (barcode);
CREATE INDEX ix_products_gtin ON products (gtin);
CREATE INDEX ix_products_is_deleted ON products (is_deleted);

CREATE TABLE stocks (
    id uuid NOT NULL,
    product_id uuid NOT NULL,
    quantity integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stocks_pkey PRIMARY KEY (id),
    CONSTRAINT stocks_product_id_key UNIQUE (product_id),
    CONSTRAINT stocks_product_id_fkey FOREIGN KEY (product_id)
        REFERENCES products (id) ON DELETE CASCADE
);

CREATE TABLE defect_stocks (
    id uuid NOT NULL,
    product_id uuid NOT NULL,
    quantity integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT defect_stocks_pkey PRIMARY KEY (id),
    CONSTRAINT defect_stocks_product_id_key UNIQUE (product_id),
    CONSTRAINT defect_stocks_product_id_fkey FOREIGN KEY (product_id)
        REFERENCES products (id) ON DELETE CASCADE
);

-- Revision 003
CREATE TABLE stock_movements (
    id uuid NOT NULL,
    operation_type varchar(50) NOT NULL,
    product_id uuid NOT NULL,
    quantity integer NOT NULL,
    source_id uuid,
    distribution_center_id uuid,
    user_id uuid NOT NULL,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_movements_pkey PRIMARY KEY (id),
    CONSTRAINT stock_movements_product_id_fkey FOREIGN KEY (product_id)
        REFERENCES products (id) ON DELETE CASCADE,
    CONSTRAINT stock_movements_source_id_fkey FOREIGN KEY (source_id)
        REFERENCES sources (id) ON DELETE SET NULL,
    CONSTRAINT stock_movements_distribution_center_id_fkey FOREIGN KEY (distribution_center_id)
        REFERENCES distribution_centers (id) ON DELETE SET NULL,
    CONSTRAINT stock_movements_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_stock_movements_operation_type ON stock_movements (operation_type);
CREATE INDEX ix_stock_movements_product_id ON stock_movements (product_id);
CREATE INDEX ix_stock_movements_user_id ON stock_movements (user_id);
CREATE INDEX ix_stock_movements_created_at ON stock_movements (created_at);
