//! Restarts nobody notices (issue 16), under a steady load through the web port (keep-alive
//! and fresh connections, GETs and POSTed receipts): the supervisor holds the web and
//! backend sockets, so `wms ctl restart` is rolling and a crashed backend's clients wait in
//! the backlog. The figures (p99 during restarts, beside restarts without held sockets) are
//! in `bench/`; here only the outcomes are asserted.

mod proof;
mod util;

use std::process::Command;
use std::time::{Duration, Instant};

use proof::api::Api;
use proof::load::{Counts, Load};
use proof::stack::{Layout, health, restarts, service_host_pid, wait_healthy};
use util::{Supervisor, wait_for, wms};

const BOOT: Duration = Duration::from_secs(120);

fn ctl(layout: &Layout, args: &[&str]) -> std::process::Output {
    Command::new(wms())
        .arg("ctl")
        .arg("--socket")
        .arg(layout.control_socket())
        .args(args)
        .output()
        .expect("wms ctl")
}

fn healthy_stack(layout: &Layout, env: &[(&str, &str)]) -> (Supervisor, Api, String) {
    let sup = layout.start(env);
    if wait_healthy(&layout.health, BOOT).is_none() {
        panic!("not healthy:\n{}", sup.output().join("\n"));
    }
    let api = Api::login(&layout.web(), Duration::from_secs(30)).expect("log in");
    let product = api.create_product("RESTARTS-1").expect("a product");
    (sup, api, product)
}

/// The receipts in the journal for `product`: every acknowledged one (none got lost) and
/// none posted twice by a proxy retry; beyond those, at most `cut` more: requests whose
/// answer a kill cut off after their commit (the client saw a failure, the write happened).
fn assert_journal(api: &Api, product: &str, counts: &Counts, cut: u64) {
    let journal = api
        .all_pages(&format!("/api/stock/movements?product_id={product}"))
        .expect("journal");
    let rows = journal.len() as u64;
    assert!(
        (counts.receipts..=counts.receipts + cut).contains(&rows),
        "{rows} journal rows for {} acknowledged receipts (at most {cut} cut off by a kill)",
        counts.receipts
    );
    let ledger = api.ledger_check().expect("ledger check");
    assert_eq!(ledger["consistent"], true, "{ledger}");
}

#[test]
fn rolling_restarts_of_backend_and_web_fail_no_request() {
    let layout = Layout::new();
    let (sup, api, product) = healthy_stack(&layout, &[]);
    let load = Load::start(
        &layout.web(),
        &api.token,
        &product,
        4,
        Duration::from_millis(2),
    );
    let started = Instant::now();
    for (name, times) in [("backend", 100), ("web", 20)] {
        for i in 0..times {
            // Traffic flows between restarts: each one happens under load.
            assert!(
                load.wait_progress(4, Duration::from_secs(30)),
                "no progress"
            );
            let out = ctl(&layout, &["restart", name]);
            assert!(
                out.status.success(),
                "restart #{i} of {name}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let took = started.elapsed();
    let counts = load.finish();
    eprintln!(
        "120 rolling restarts in {took:?}: {} ok, {} failed, {} refused, {} stale keep-alive retries",
        counts.ok, counts.failed, counts.refused, counts.stale_retries
    );
    assert!(
        counts.ok >= 480,
        "too little load to prove anything: {} ok",
        counts.ok
    );
    assert_eq!(
        (counts.failed, counts.refused),
        (0, 0),
        "failures: {:#?}",
        counts.failures
    );
    let (_, h) = health(&layout.health).expect("/health");
    assert_eq!(restarts(&h, "backend"), 0, "no crash: {h}");
    assert_journal(&api, &product, &counts, 0);
    drop(sup);
}

#[test]
fn a_killed_backend_refuses_no_connection() {
    let layout = Layout::new();
    // Twenty quick deaths in a row would back off up to 51 s (Docker's doubling): cap it,
    // so the test measures the held socket, not the backoff.
    let (sup, api, product) = healthy_stack(&layout, &[("WMS_BACKOFF_MAX", "200ms")]);
    let load = Load::start(
        &layout.web(),
        &api.token,
        &product,
        4,
        Duration::from_millis(2),
    );
    for i in 1..=20u64 {
        let (_, h) = health(&layout.health).expect("/health");
        let pid = service_host_pid(&sup, &h, "backend").expect("backend pid");
        util::kill(pid, libc::SIGKILL);
        wait_for("the backend back", Duration::from_secs(30), || {
            health(&layout.health).filter(|(code, h)| *code == 200 && restarts(h, "backend") >= i)
        });
        assert!(
            load.wait_progress(4, Duration::from_secs(30)),
            "no progress after kill {i}"
        );
    }
    let counts = load.finish();
    eprintln!(
        "20 SIGKILLs of the backend: {} ok, {} failed (in flight at a kill), {} refused",
        counts.ok, counts.failed, counts.refused
    );
    assert_eq!(
        counts.refused, 0,
        "refused connections: {:#?}",
        counts.failures
    );
    // Only requests in flight at a kill may fail; with 4 clients, at most 4 per kill.
    assert!(counts.failed <= 4 * 20, "{} failed", counts.failed);
    assert!(
        counts.failures.iter().all(|f| !f.contains("refused")),
        "{:#?}",
        counts.failures
    );
    assert_journal(&api, &product, &counts, counts.failed);
    drop(sup);
}

#[test]
fn a_restart_whose_new_instance_never_gets_ready_fails_and_the_old_one_serves_on() {
    let layout = Layout::new();
    // The backend's next instances cannot reach the database (a wrong password), so they
    // never say READY=1; the serving one keeps its connections.
    let (sup, api, _) = healthy_stack(&layout, &[]);
    let (_, h) = health(&layout.health).expect("/health");
    let before = service_host_pid(&sup, &h, "backend").expect("backend pid");
    let secret = layout.pgdata().join("wms-app-password");
    let kept = std::fs::read_to_string(&secret).expect("the app password");
    std::fs::write(&secret, "wrong-password\n").expect("break the password");
    let out = Command::new(wms())
        .args(["ctl", "--socket"])
        .arg(layout.control_socket())
        .args(["restart", "backend"])
        .output()
        .expect("wms ctl");
    std::fs::write(&secret, kept).expect("restore the password");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the new instance exited with code 1 before it was ready"),
        "{stderr}"
    );
    let (code, h) = health(&layout.health).expect("/health");
    assert_eq!(code, 200, "{h}");
    assert_eq!(
        service_host_pid(&sup, &h, "backend"),
        Some(before),
        "the old one serves"
    );
    api.products().expect("the API still answers");
    drop(sup);
}

/// The pids of every running service, from the supervisor's /health.
fn pids(layout: &Layout) -> Vec<(String, Option<u64>)> {
    let (_, h) = health(&layout.health).expect("/health");
    h["services"]
        .as_object()
        .expect("services")
        .iter()
        .map(|(n, s)| (n.clone(), s["pid"].as_u64()))
        .collect()
}

#[test]
fn a_reload_changes_what_changed_and_refuses_an_invalid_file() {
    let layout = Layout::new();
    let (sup, api, product) = healthy_stack(&layout, &[]);
    let config = layout.dir.join("config.toml");
    let original = std::fs::read_to_string(&config).expect("config.toml");

    // An invalid file: refused with its position, nothing changes.
    let before = pids(&layout);
    std::fs::write(
        &config,
        original.replace(
            "stop_timeout = \"5s\"\nbackoff_max",
            "stop_timeout = \"five\"\nbackoff_max",
        ),
    )
    .expect("write");
    let out = ctl(&layout, &["reload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("config.toml:")
            && stderr.contains("stop_timeout: invalid duration \"five\""),
        "{stderr}"
    );
    assert_eq!(pids(&layout), before, "nothing changed");

    // One service changed (web's stop_timeout): only web is restarted, rolling, under load.
    let load = Load::start(
        &layout.web(),
        &api.token,
        &product,
        2,
        Duration::from_millis(2),
    );
    assert!(load.wait_progress(10, Duration::from_secs(30)));
    let web_section = original.find("[services.web]").expect("web section");
    let (head, tail) = original.split_at(web_section);
    let changed = format!(
        "{head}{}",
        tail.replacen("stop_timeout = \"5s\"", "stop_timeout = \"6s\"", 1)
    );
    std::fs::write(&config, changed).expect("write");
    let out = ctl(&layout, &["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "reloaded: restarting web"
    );
    let after = wait_for("web restarted", Duration::from_secs(30), || {
        let now = pids(&layout);
        let web_changed = now
            .iter()
            .zip(&before)
            .any(|((n, p), (_, q))| n == "web" && p.is_some() && p != q);
        web_changed.then_some(now)
    });
    for ((name, now), (_, then)) in after.iter().zip(&before) {
        if name != "web" {
            assert_eq!(
                now, then,
                "{name} was restarted by a reload that changed only web"
            );
        }
    }
    assert!(load.wait_progress(10, Duration::from_secs(30)));
    let counts = load.finish();
    assert_eq!(counts.failed, 0, "{:#?}", counts.failures);

    // SIGHUP reloads too: back to the original file, web restarts again.
    std::fs::write(&config, &original).expect("write");
    assert_eq!(sup.count_lines("INFO reloaded"), 1);
    sup.signal(libc::SIGHUP);
    wait_for("the SIGHUP reload", Duration::from_secs(10), || {
        (sup.count_lines("INFO reloaded") == 2).then_some(())
    });
    assert!(
        sup.output()
            .iter()
            .any(|l| l.contains("received SIGHUP: reloading the config"))
    );
    drop(sup);
}
