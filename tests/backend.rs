//! The WMS backend, for real: the `wms` binary serving HTTP against a private PostgreSQL
//! (one server per test binary, one database per test), exercised with raw HTTP requests.
//! Grouped by area; every wait has a deadline and nothing sleeps a fixed time.

mod util;

#[path = "backend/http.rs"]
mod http;
#[path = "backend/pg.rs"]
mod pg;
#[path = "backend/server.rs"]
mod server;

#[path = "backend/auth.rs"]
mod auth;
#[path = "backend/concurrency.rs"]
mod concurrency;
#[path = "backend/exports.rs"]
mod exports;
#[path = "backend/import.rs"]
mod import;
#[path = "backend/migrations.rs"]
mod migrations;
#[path = "backend/movements.rs"]
mod movements;
#[path = "backend/products.rs"]
mod products;
#[path = "backend/reference.rs"]
mod reference;
#[path = "backend/routing.rs"]
mod routing;
#[path = "backend/security.rs"]
mod security;
#[path = "backend/shutdown.rs"]
mod shutdown;
#[path = "backend/smoke.rs"]
mod smoke;
#[path = "backend/stocktake.rs"]
mod stocktake;
