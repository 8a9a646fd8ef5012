-- pgbench: the SQL `wms backend` runs for GET /api/products/ (page 1 of 20): the user
-- lookup, then the count and the page (mirrors users::FIND_BY_EMAIL, products::COUNT/LIST_PAGE).
SELECT id, email, is_active, role, created_at, token_version FROM users WHERE email = '__ADMIN_EMAIL__';
SELECT count(*) FROM products p WHERE NOT p.is_deleted;
SELECT p.barcode, p.gtin, p.seller_sku, p.size, p.brand, p.color, p.id, p.created_at, p.updated_at, COALESCE((SELECT s.quantity FROM stocks s WHERE s.product_id = p.id), 0) AS stock_quantity, COALESCE((SELECT d.quantity FROM defect_stocks d WHERE d.product_id = p.id), 0) AS defect_quantity FROM products p WHERE NOT p.is_deleted ORDER BY p.created_at DESC, p.id DESC LIMIT 20 OFFSET 0;
