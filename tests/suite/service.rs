//! `khaosat serve` as an installation runs it: a process of its own, its
//! options in `khaosat.toml` (found in its working folder), its secrets in
//! the environment; staff reopen and close the survey from the command
//! line while it runs, and SIGTERM lets it finish what it acknowledged.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fake_zalo::{self, event_at, signature_header};
use crate::helpers::shipped_campaign_dir;
use crate::web::{client, post, text};

/// Runs a one-shot command of the installation in `dir`.
fn khaosat(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .current_dir(dir)
        .args(args)
        .env_remove("KHAOSAT_CONFIG")
        .env_remove("KHAOSAT_SECRET")
        .env_remove("KHAOSAT_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The service's process, killed if the test fails before it stops it.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `serve`, started in `dir` with the Zalo secrets in its environment;
/// returns once it says where it serves.
fn serve(dir: &Path) -> (Running, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .current_dir(dir)
        .arg("serve")
        .env_remove("KHAOSAT_CONFIG")
        .env_remove("KHAOSAT_SECRET")
        .env_remove("KHAOSAT_DATABASE_URL")
        .env("KHAOSAT_ZALO_OA_SECRET_KEY", fake_zalo::OA_SECRET)
        .env("KHAOSAT_ZALO_APP_SECRET_KEY", fake_zalo::APP_SECRET)
        .env("KHAOSAT_ZALO_REFRESH_TOKEN", "rt-0")
        .env("KHAOSAT_ZALO_ACCESS_TOKEN", "at-0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("Zalo:") => break,
            Some(Ok(_)) => {}
            _ => panic!("khaosat serve stopped before serving"),
        }
    }
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (Running(Some(child)), rest)
}

async fn health(http: &reqwest::Client, base: &str) -> serde_json::Value {
    let res = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn an_installed_service_is_run_by_its_staff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (zalo, zalo_url) = fake_zalo::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    khaosat(d, &["secret", "new", "--out", "secret.key"]);
    std::fs::write(
        d.join("khaosat.toml"),
        format!(
            "campaign = {campaign:?}\n\
             database-url = \"khaosat.db\"\n\
             secret-file = \"secret.key\"\n\
             listen = \"127.0.0.1:{port}\"\n\
             log = \"warn\"\n\
             zalo-app-id = {app:?}\n\
             zalo-api-url = {zalo_url:?}\n\
             zalo-oauth-url = {zalo_url:?}\n",
            campaign = shipped_campaign_dir().display().to_string(),
            app = fake_zalo::APP_ID,
        ),
    )
    .unwrap();
    // The shipped campaign ended in 2021: staff reopen it until a date to come.
    let reopened = khaosat(
        d,
        &[
            "reopen",
            "--until",
            "2099-12-31",
            "--reason",
            "Khảo sát bổ sung",
        ],
    );
    assert!(
        stdout(&reopened).contains("được mở lại"),
        "{}",
        stdout(&reopened)
    );
    let issued = khaosat(
        d,
        &[
            "tokens",
            "issue",
            "--group",
            "nguoi-dan",
            "--unit",
            "binh-an",
            "--count",
            "2",
            "--web-url",
            "https://khaosat.example.vn",
            "--out",
            "phieu",
        ],
    );
    assert!(stdout(&issued).contains("Đã phát hành 2 mã phiếu"));
    let csv = std::fs::read_dir(d.join("phieu"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .unwrap();
    let tokens: Vec<String> = std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();

    let (mut running, output) = serve(d);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let h = health(&http, &base).await;
    assert_eq!(
        (h["status"].as_str(), h["survey_open"].as_bool()),
        (Some("ok"), Some(true))
    );
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let first = post(&http, &base, "start", &tokens[0]).await;
    assert!(text(&first).contains("Câu 1/14"), "{}", text(&first));

    // Closed from the command line: the running service stops taking
    // answers within its refresh time, and progress says who, when, why.
    khaosat(d, &["close", "--reason", "Đã đủ số phiếu"]);
    let closing = Instant::now();
    while health(&http, &base).await["survey_open"] == true {
        assert!(
            closing.elapsed() < khaosat::startup::PERIOD_REFRESH + Duration::from_secs(3),
            "still open {:?} after the close",
            closing.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = post(&http, &base, "text", "4").await;
    assert!(
        text(&refused).contains("Đợt khảo sát đã kết thúc lúc"),
        "{}",
        text(&refused)
    );
    let progress = stdout(&khaosat(d, &["progress"]));
    assert!(
        progress.contains("Đợt khảo sát được đóng lúc")
            && progress.contains("(trên máy chủ). Lý do: Đã đủ số phiếu."),
        "{progress}"
    );

    // SIGTERM with a Zalo event acknowledged and its reply held up by
    // Zalo's rate limit: the service delivers it before it exits.
    zalo.lock().unwrap().script.extend([-32, -32]);
    let now = chrono::Utc::now().timestamp_millis();
    let body = event_at("user_send_text", "zs-1", Some("xin chào"), "m1", now);
    let ack = http
        .post(format!("{base}/zalo/webhook"))
        .header("content-type", "application/json")
        .header("X-ZEvent-Signature", signature_header(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);
    let mut child = running.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a clean stop on SIGTERM: {status}");
    let said = output.join().unwrap();
    assert!(said.contains("khaosat: đã dừng"), "{said}");
    let sent = zalo.lock().unwrap().sent.clone();
    assert!(
        sent.iter().any(|s| s.user == "zs-1"),
        "the acknowledged event was answered before the exit: {sent:?}"
    );
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![tokio an_installed_service_is_run_by_its_staff]
}
