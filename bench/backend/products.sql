-- pgbench: the SQL `wms backend` runs for GET /api/products/ (page 1 of 20): the user
-- lookup, then the count and the page (mirrors users::FIND_BY_EMAIL, products::COUNT/LIST).
SELECT id, email, is_active, role, created_at FROM users WHERE email = '__ADMIN_EMAIL__';
SELECT count(*) FROM products p WHERE NOT p.is_deleted;
SELECT p.barcode, p.gtin, p.seller_sku, p.size, p.brand, p.color, p.id, p.created_at, p.updated_at, COALESCE(s.quantity, 0) AS stock_quantity, COALESCE(d.quantity, 0) AS defect_quantity FROM products p LEFT JOIN stocks s ON s.product_id = p.id LEFT JOIN defect_stocks d ON d.product_id = p.id WHERE NOT p.is_deleted ORDER BY p.created_at DESC, p.id DESC LIMIT 20 OFFSET 0;
