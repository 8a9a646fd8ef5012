//! Sources and distribution centres (spec 6.4, 6.5, B-18, B-19, B-37).

use serde_json::{Value, json};

use crate::server::Backend;

fn names(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x[field].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn seeded_lists_come_in_the_reference_order() {
    let b = Backend::start();
    let sources = b.get("/api/sources/");
    assert_eq!(sources.status, 200);
    assert_eq!(
        names(&sources.json(), "name"),
        [
            "ПВЗ Казань",
            "ПВЗ Москва",
            "Поставщик РФ",
            "Прямой поставщик"
        ]
    );
    // Cyrillic is sent raw, not \u-escaped; fields in the reference's order.
    let text = sources.text();
    assert!(text.contains("ПВЗ Казань"), "{text}");
    let first = text.split("},{").next().unwrap_or("");
    let order: Vec<usize> = [
        "\"name\"",
        "\"description\"",
        "\"id\"",
        "\"created_at\"",
        "\"updated_at\"",
    ]
    .iter()
    .map(|k| first.find(k).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{first}");
    let dcs = b.get("/api/distribution-centers/").json();
    assert_eq!(
        names(&dcs, "code"),
        [
            "OZON-KAZAN",
            "OZON-KRASNODAR",
            "OZON-MOSCOW",
            "OZON-NOVOSIBIRSK",
            "OZON-STPETERSBURG",
            "WB-KAZAN",
            "WB-KRASNODAR",
            "WB-MOSCOW",
            "WB-STPETERSBURG"
        ]
    );
    // Timestamps: UTC with Z.
    let ts = dcs[0]["created_at"].as_str().unwrap_or("");
    assert!(ts.ends_with('Z') && ts.len() >= 20, "{ts}");
}

#[test]
fn source_crud_with_every_error_path() {
    let b = Backend::start();
    let r = b.post("/api/sources/", &json!({"name": "Склад А"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let s = r.json();
    assert_eq!(s["description"], Value::Null);
    let id = s["id"].as_str().expect("id").to_owned();
    let path = format!("/api/sources/{id}");

    let r = b.post(
        "/api/sources/",
        &json!({"name": "Склад А", "description": "x"}),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"detail": "Source with name 'Склад А' already exists"})
        )
    );
    let r = b.post("/api/sources/", &json!({"description": "x"}));
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "missing");
    for bad in [json!({"name": ""}), json!({"name": "   "})] {
        let r = b.post("/api/sources/", &bad);
        assert_eq!(r.status, 422, "{bad}");
        assert_eq!(r.detail()[0]["type"], "string_too_short");
    }
    let r = b.post("/api/sources/", &json!({"name": "x".repeat(256)}));
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "string_too_long");
    assert_eq!(r.detail()[0]["ctx"], json!({"max_length": 255}));
    let r = b.post("/api/sources/", &json!({"name": 7}));
    assert_eq!(r.detail()[0]["type"], "string_type");

    assert_eq!(b.get(&path).json()["name"], "Склад А");
    let missing = "/api/sources/6c7d2d5e-8d1f-4b0e-9c7a-2f5e1d3c4b5a";
    assert_eq!(
        (b.get(missing).status, b.get(missing).json()),
        (404, json!({"detail": "Source not found"}))
    );

    // Partial update: {} changes nothing, not even updated_at.
    let before = b.get(&path).json();
    let r = b.put(&path, &json!({}));
    assert_eq!((r.status, r.json()), (200, before.clone()));
    let r = b.put(&path, &json!({"description": "описание"}));
    assert_eq!(r.json()["description"], "описание");
    assert_eq!(r.json()["name"], "Склад А");
    let r = b.put(&path, &json!({"description": null}));
    assert_eq!(r.json()["description"], Value::Null);
    let r = b.put(&path, &json!({"name": null}));
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "string_type");
    assert_eq!(r.detail()[0]["loc"], json!(["body", "name"]));
    let r = b.put(&path, &json!({"name": "ПВЗ Казань"}));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"detail": "Source with name 'ПВЗ Казань' already exists"})
        )
    );
    assert_eq!(b.put(missing, &json!({})).status, 404);

    // Delete: 204, then 404; a referenced source is kept (409).
    let r = b.delete(&path);
    assert_eq!((r.status, r.body.len()), (204, 0));
    assert_eq!(b.delete(&path).status, 404);
    let used = b.first_id("/api/sources/");
    let p = b.product("SRC-1");
    let r = b.move_stock(&p, "return_pickup", 1, json!({"source_id": used}));
    assert_eq!(r.status, 201);
    let r = b.delete(&format!("/api/sources/{used}"));
    assert_eq!(
        (r.status, r.json()),
        (
            409,
            json!({"detail": "Source is referenced by stock movements and cannot be deleted"})
        )
    );
}

#[test]
fn distribution_centre_crud_with_every_error_path() {
    let b = Backend::start();
    let r = b.post("/api/distribution-centers/", &json!({}));
    assert_eq!(r.status, 422);
    assert_eq!(
        r.detail().as_array().map(Vec::len),
        Some(3),
        "one item per missing field"
    );
    let r = b.post(
        "/api/distribution-centers/",
        &json!({"code": "YM-TULA", "name": "Тула", "marketplace": "Yandex"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let dc = r.json();
    let text = r.text();
    let order: Vec<usize> = [
        "\"code\"",
        "\"name\"",
        "\"marketplace\"",
        "\"id\"",
        "\"created_at\"",
        "\"updated_at\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    let path = format!(
        "/api/distribution-centers/{}",
        dc["id"].as_str().expect("id")
    );
    let r = b.post(
        "/api/distribution-centers/",
        &json!({"code": "YM-TULA", "name": "x", "marketplace": "y"}),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"detail": "Distribution center with code 'YM-TULA' already exists"})
        )
    );
    let r = b.put(&path, &json!({"code": "WB-KAZAN"}));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"detail": "Distribution center with code 'WB-KAZAN' already exists"})
        )
    );
    let r = b.put(&path, &json!({"marketplace": null}));
    assert_eq!(r.status, 422);
    let r = b.put(&path, &json!({"name": "Тула-2"}));
    assert_eq!(r.json()["name"], "Тула-2");
    assert_eq!(r.json()["code"], "YM-TULA");
    let r = b.put(&path, &json!({"code": "x".repeat(51)}));
    assert_eq!(r.detail()[0]["ctx"], json!({"max_length": 50}));
    let missing = "/api/distribution-centers/6c7d2d5e-8d1f-4b0e-9c7a-2f5e1d3c4b5a";
    assert_eq!(
        b.get(missing).json(),
        json!({"detail": "Distribution center not found"})
    );
    assert_eq!(b.delete(missing).status, 404);

    let used = b.first_id("/api/distribution-centers/");
    let p = b.product("DC-1");
    b.move_stock(&p, "receipt", 5, json!({}));
    let r = b.move_stock(
        &p,
        "shipment_rc",
        1,
        json!({"distribution_center_id": used}),
    );
    assert_eq!(r.status, 201);
    let r = b.delete(&format!("/api/distribution-centers/{used}"));
    assert_eq!(
        (r.status, r.json()),
        (
            409,
            json!({"detail": "Distribution center is referenced by stock movements and cannot be deleted"})
        )
    );
    assert_eq!(b.delete(&path).status, 204);
}

#[test]
fn seeding_happens_once_even_after_everything_is_deleted() {
    let mut b = Backend::start();
    for path in ["/api/sources/", "/api/distribution-centers/"] {
        let list = b.get(path).json();
        for item in list.as_array().cloned().unwrap_or_default() {
            let id = item["id"].as_str().expect("id");
            assert_eq!(b.delete(&format!("{path}{id}")).status, 204);
        }
    }
    let db = b.db.clone();
    b.stop();
    // B-43: a restart does not bring the defaults back.
    let again = Backend::start_on(&db, &[], &[]);
    assert_eq!(again.get("/api/sources/").json(), json!([]));
    assert_eq!(again.get("/api/distribution-centers/").json(), json!([]));
}
