//! Zalo webhook benchmark: a crowd of Zalo users posting signed webhook
//! events to `khaosat serve` (the real binary, in a process of its own,
//! SQLite, each commit on disk before it counts, unless BENCH_DATABASE
//! names PostgreSQL), whose replies go to the fake Zalo OA API of the
//! tests; and beside it, in the same run, the reference: a webhook that
//! checks the signature and answers 200, keeping nothing (what axum and the
//! signature check allow on this machine).
//!
//!     cargo bench --bench zalo                  # 500 users × 20 events
//!     BENCH_USERS=100 BENCH_STEPS=10 cargo bench --bench zalo
//!     BENCH_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench zalo
//!
//! Two loads: "flat out" (each user posts the next event the moment the
//! last is acknowledged) and "people" (0.3–1.5 s between events). The
//! acknowledgement time is measured by the crowd, from posting an event to
//! its 200; for khaosat, "handled" is when the last reply reached the fake
//! Zalo server. The crowd and the fake share this process; its CPU is
//! reported beside the server's.

mod common;
#[path = "../tests/suite/fake_zalo.rs"]
#[allow(dead_code)]
mod fake_zalo;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DiskProbe, Survey, cpu_of, env, ms, rss_mb};
use rand::Rng;

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Stateless,
    Khaosat,
}

fn main() {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("stateless-webhook") {
        return stateless_webhook();
    }
    let quick = !std::env::args().any(|a| a == "--bench");
    let users = if quick { 5 } else { env("BENCH_USERS", 500) };
    let steps = if quick { 4 } else { env("BENCH_STEPS", 20) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "| load | server | events | acks/s | ratio | ack p50 | ack p99 | ack max | disk sync p99 / max | all handled after | server CPU/event | server CPU | crowd+fake CPU | server memory |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (name, think) in [("flat out", None), ("people", Some((300u64, 1500u64)))] {
            let reference = run(Server::Stateless, users, steps, think).await;
            let ours = run(Server::Khaosat, users, steps, think).await;
            for (server, r) in [("signature check only", &reference), ("khaosat", &ours)] {
                println!(
                    "| {name} | {server} | {} | {:.0} | {:.2} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} / {:.0} ms | {:.2} s | {:.3} ms | {:.0} % | {:.0} % | {} MB |",
                    r.events,
                    r.rate(),
                    r.rate() / reference.rate(),
                    ms(r.p50),
                    ms(r.p99),
                    ms(r.max),
                    ms(r.disk_p99),
                    ms(r.disk_max),
                    r.handled.as_secs_f64(),
                    r.server_cpu.as_secs_f64() * 1000.0 / r.events as f64,
                    100.0 * r.server_cpu.as_secs_f64() / r.handled.as_secs_f64(),
                    100.0 * r.crowd_cpu.as_secs_f64() / r.handled.as_secs_f64(),
                    r.server_rss_mb,
                );
            }
        }
    });
}

struct Run {
    events: usize,
    /// Until the last acknowledgement.
    acked: Duration,
    /// Until the last reply reached the fake (khaosat), or `acked`.
    handled: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// The disk's own sync latency meanwhile (`DiskProbe`).
    disk_p99: Duration,
    disk_max: Duration,
    server_cpu: Duration,
    crowd_cpu: Duration,
    server_rss_mb: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.acked.as_secs_f64()
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server process; returns once it answers on `port`.
async fn start_server(server: Server, port: u16, fake_url: &str, survey: Option<&Survey>) -> Child {
    let mut cmd = match server {
        Server::Stateless => {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.env("BENCH_ROLE", "stateless-webhook");
            c
        }
        Server::Khaosat => {
            let s = survey.expect("a survey for khaosat");
            let mut c = Command::new(env!("CARGO_BIN_EXE_khaosat"));
            c.arg("serve")
                .env("KHAOSAT_DATABASE_URL", &s.url)
                .env("KHAOSAT_SECRET", s.key.to_hex())
                .env("KHAOSAT_CAMPAIGN", &s.campaign)
                .env("KHAOSAT_LOG", "error")
                .env("KHAOSAT_ZALO_APP_ID", fake_zalo::APP_ID)
                .env("KHAOSAT_ZALO_OA_SECRET_KEY", fake_zalo::OA_SECRET)
                .env("KHAOSAT_ZALO_APP_SECRET_KEY", fake_zalo::APP_SECRET)
                .env("KHAOSAT_ZALO_REFRESH_TOKEN", "rt-0")
                .env("KHAOSAT_ZALO_ACCESS_TOKEN", "at-0")
                .env("KHAOSAT_ZALO_API_URL", fake_url)
                .env("KHAOSAT_ZALO_OAUTH_URL", fake_url)
                .env_remove("KHAOSAT_CONFIG")
                .env_remove("TELOXIDE_TOKEN");
            c
        }
    };
    let mut child = cmd
        .env("KHAOSAT_LISTEN", format!("127.0.0.1:{port}"))
        .env("BENCH_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if up.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

async fn run(server: Server, users: usize, steps: usize, think: Option<(u64, u64)>) -> Run {
    let survey = match server {
        Server::Khaosat => Some(Survey::new(users).await),
        Server::Stateless => None,
    };
    let (fake, fake_url) = fake_zalo::start().await;
    let port = free_port();
    let mut child = start_server(server, port, &fake_url, survey.as_ref()).await;
    let url = format!("http://127.0.0.1:{port}/zalo/webhook");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(users)
        .build()
        .unwrap();
    let pid = child.id().to_string();
    let server_cpu_before = cpu_of(&pid);
    let crowd_cpu_before = cpu_of("self");
    let probe = DiskProbe::start();
    let started = Instant::now();
    let tokens: Arc<Vec<String>> = Arc::new(survey.as_ref().map_or_else(Vec::new, |s| {
        s.tokens.iter().map(|t| t.as_str().to_string()).collect()
    }));
    let mut tasks = Vec::new();
    for i in 0..users {
        let (http, url, tokens) = (http.clone(), url.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let user = format!("77{i:06}");
            let mut acks = Vec::with_capacity(steps + 1);
            for step in 0..=steps {
                let text = match step {
                    0 => tokens.get(i).cloned().unwrap_or_else(|| "xin chào".into()),
                    s if s % 2 == 1 => "4".to_string(),
                    _ => "quay lại".to_string(),
                };
                if let Some((lo, hi)) = think {
                    let wait = rand::rng().random_range(lo..=hi);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                let body = fake_zalo::event_at(
                    "user_send_text",
                    &user,
                    Some(&text),
                    &format!("b-{user}-{step}"),
                    chrono::Utc::now().timestamp_millis(),
                );
                let posted = Instant::now();
                let status = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("X-ZEvent-Signature", fake_zalo::signature_header(&body))
                    .body(body)
                    .send()
                    .await
                    .expect("the webhook answers")
                    .status();
                assert_eq!(status, 200, "user {user}, event {step}");
                acks.push(posted.elapsed());
            }
            acks
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let acked = started.elapsed();
    let (disk_p99, disk_max) = probe.stop();
    let events = users * (steps + 1);
    // Every event answered by one message (texts of a step are joined).
    if server == Server::Khaosat {
        let arrived = fake.lock().unwrap().arrived.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let next = arrived.notified();
            tokio::pin!(next);
            next.as_mut().enable();
            if fake.lock().unwrap().sent.len() >= events {
                break;
            }
            assert!(
                tokio::time::timeout_at(deadline, next).await.is_ok(),
                "replies missing: {} of {events}",
                fake.lock().unwrap().sent.len()
            );
        }
    }
    let handled = started.elapsed();
    let server_cpu = cpu_of(&pid) - server_cpu_before;
    let crowd_cpu = cpu_of("self") - crowd_cpu_before;
    let server_rss_mb = rss_mb(&pid);
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some(s) = &survey {
        s.drop_db().await;
    }
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Run {
        events,
        acked,
        handled,
        p50: pick(0.50),
        p99: pick(0.99),
        max: *lat.last().unwrap(),
        disk_p99,
        disk_max,
        server_cpu,
        crowd_cpu,
        server_rss_mb,
    }
}

/// The reference: a webhook that checks the signature as khaosat does
/// (the timestamp read from the body, SHA-256 compared in constant time)
/// and answers 200, keeping nothing.
fn stateless_webhook() {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use subtle::ConstantTimeEq;
    let port: u16 = std::env::var("BENCH_PORT").unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        async fn webhook(headers: HeaderMap, body: Bytes) -> StatusCode {
            let mac = headers
                .get("x-zevent-signature")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("mac="))
                .unwrap_or("")
                .to_string();
            let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let stamp = event["timestamp"].as_str().unwrap_or("");
            let expected =
                khaosat::zalo::signature(fake_zalo::APP_ID, &body, stamp, fake_zalo::OA_SECRET);
            if bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            }
        }
        let app = axum::Router::new()
            .route("/zalo/webhook", axum::routing::post(webhook))
            .route("/healthz", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
