-- pgbench: the SQL `wms backend` runs for one receipt (POST /api/stock/movements), statement
-- for statement (mirrors users::FIND_BY_EMAIL, stock::INCREMENT_STOCK, movements::INSERT).
-- :products (pgbench -D) and __ADMIN_EMAIL__/__ADMIN_ID__ are filled in by bench/backend/run.
\set n random(1, :products)
SELECT id, email, is_active, role, created_at, token_version FROM users WHERE email = '__ADMIN_EMAIL__';
BEGIN;
UPDATE stocks SET quantity = quantity + 1, updated_at = now() WHERE product_id = ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid AND quantity <= 2147483647 - 1 AND EXISTS (SELECT 1 FROM products p WHERE p.id = ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid AND NOT p.is_deleted) RETURNING quantity;
WITH m AS (INSERT INTO stock_movements (id, operation_type, product_id, quantity, source_id, distribution_center_id, user_id, notes) VALUES (gen_random_uuid(), 'receipt', ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid, 1, NULL, NULL, '__ADMIN_ID__', NULL) RETURNING *) SELECT m.product_id, m.operation_type, m.quantity, m.source_id, m.distribution_center_id, m.notes, m.id, m.user_id, m.created_at, p.barcode AS product_barcode, p.gtin AS product_gtin, p.brand AS product_brand, p.size AS product_size, p.seller_sku AS product_seller_sku, s.name AS source_name, d.name AS dc_name, u.email AS user_email FROM m LEFT JOIN products p ON p.id = m.product_id LEFT JOIN sources s ON s.id = m.source_id LEFT JOIN distribution_centers d ON d.id = m.distribution_center_id LEFT JOIN users u ON u.id = m.user_id;
COMMIT;
