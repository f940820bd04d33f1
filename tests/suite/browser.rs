//! The web chat in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver), completes a citizen ballot and saves a screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Without them the test is reported skipped on a developer machine and
//! fails in CI.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::helpers::{Backend, Harness};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver and a session in headless Chromium. The test runs only
/// where both are installed or required (see `harness.rs`).
async fn browser() -> (Driver, Client) {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "this test needs {CHROMIUM} and {CHROMEDRIVER}: install chromium and chromium-driver"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap().keep();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=412,915",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    for _ in 0..100 {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        if let Ok(client) = connected {
            return (driver, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

/// The text of the last bot message on the page.
async fn last_bot_text(c: &Client) -> String {
    let bubbles = c.find_all(Locator::Css("#log .bot")).await.unwrap();
    match bubbles.last() {
        Some(b) => b.text().await.unwrap(),
        None => String::new(),
    }
}

/// Waits (WebDriver's own wait, up to 5 s) until the last bot message on
/// the page shows `needle`.
async fn wait_for(c: &Client, needle: &str) {
    let xpath =
        format!("(//*[@id='log']/*[contains(@class, 'bot')])[last()][contains(., '{needle}')]");
    if c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(&xpath))
        .await
        .is_err()
    {
        panic!(
            "the page never showed {needle:?}; last message: {}",
            last_bot_text(c).await
        );
    }
}

/// Clicks the enabled button whose label is exactly `label`.
async fn click(c: &Client, label: &str) {
    let xpath = format!("//main//button[not(@disabled)][normalize-space(.)='{label}']");
    let button = c
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap();
    button.click().await.unwrap();
}

async fn a_browser_completes_a_ballot(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let (_driver, c) = browser().await;
    let base = h.serve_http().await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;

    // The link a card carries: the token in the fragment, never sent to
    // the server, and gone from the address bar once the page has it.
    c.goto(&format!("{base}/#t={}", token.as_str()))
        .await
        .unwrap();
    wait_for(&c, "Câu 1/14").await;
    let address = c.current_url().await.unwrap().to_string();
    assert!(!address.contains(token.as_str()), "{address}");
    for k in 2..=4 {
        click(&c, "Hài lòng").await;
        wait_for(&c, &format!("Câu {k}/14")).await;
    }
    // Reloading the page resumes the conversation.
    c.refresh().await.unwrap();
    wait_for(&c, "Câu 4/14").await;
    for k in 5..=11 {
        click(&c, "Rất hài lòng").await;
        wait_for(&c, &format!("Câu {k}/14")).await;
    }
    // Typing works too.
    let input = c.find(Locator::Css("#text")).await.unwrap();
    input.send_keys("2").await.unwrap();
    c.find(Locator::Css("form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Câu 12/14").await;
    click(&c, "Hài lòng").await;
    wait_for(&c, "mong muốn").await;
    click(&c, "Bỏ qua ▶").await;
    wait_for(&c, "Xin ông/bà xem lại").await;
    click(&c, "✔ Gửi phiếu").await;
    // The receipt, in any message of the log.
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(
            "//*[@id='log']/*[contains(., 'Mã biên nhận')]",
        ))
        .await
        .expect("the page shows the receipt");
    let shot = c.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("web-chat-ballot-{backend:?}.png"));
    std::fs::write(&path, &shot).unwrap();
    eprintln!("screenshot: {}", path.display());
    c.close().await.unwrap();

    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 1);
    let b = &ballots[0].ballot;
    assert_eq!(
        b.answers.get("thai-do"),
        Some(&khaosat::dialogue::Answer::Choice(4))
    );
    assert_eq!(
        b.answers.get("cong-khai"),
        Some(&khaosat::dialogue::Answer::Choice(5))
    );
    assert_eq!(
        b.answers.get("so-lan-di-lai"),
        Some(&khaosat::dialogue::Answer::Number(2.0))
    );
    assert!(shot.len() > 1000 && shot.starts_with(b"\x89PNG"));
    h.finish().await;
}

/// A leader's unit on the compact form in the browser: a row of buttons
/// per area, tapped in any order, then “Gửi đánh giá”.
async fn a_leader_uses_the_compact_form_in_a_browser() {
    let mut h = Harness::shipped(Backend::Sqlite).await;
    let (_driver, c) = browser().await;
    let base = h.serve_http().await;
    let token = h.token("can-bo", &["binh-an", "binh-chanh"]).await;
    c.goto(&format!("{base}/#t={}", token.as_str()))
        .await
        .unwrap();
    wait_for(&c, "UBND xã Bình An (1/2)").await;
    let areas = [
        ("Hiện đại hóa nền hành chính", "5"),
        ("Chỉ đạo, điều hành", "4"),
        ("Triển khai văn bản QPPL của cấp trên", "3"),
        ("Tổ chức bộ máy", "?"),
        ("Đội ngũ cán bộ, công chức", "4"),
        ("Quản lý tài chính công", "2"),
    ];
    for (area, mark) in areas {
        let xpath = format!("//main//button[not(@disabled)][@aria-label='{area}: {mark}']");
        c.wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("no button {mark} for {area}"))
            .click()
            .await
            .unwrap();
    }
    // The answers are shown on the form before it is sent.
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(
            "//main//div[@class='grid-label'][contains(., 'Quản lý tài chính công: Tác động ít')]",
        ))
        .await
        .expect("the form shows the answers");
    let shot = c.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-chat-compact-form.png");
    std::fs::write(&path, &shot).unwrap();
    eprintln!("screenshot: {}", path.display());
    click(&c, "✔ Gửi đánh giá").await;
    wait_for(&c, "UBND xã Bình Chánh (2/2)").await;
    c.close().await.unwrap();
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 1);
    let answers = &ballots[0].ballot.answers;
    use khaosat::dialogue::Answer::Choice;
    assert_eq!(answers.get("hien-dai-hoa"), Some(&Choice(5)));
    assert_eq!(answers.get("to-chuc-bo-may"), Some(&Choice(6)));
    assert_eq!(answers.get("tai-chinh-cong"), Some(&Choice(2)));
    h.finish().await;
}

async fn a_browser_completes_a_ballot_on_sqlite() {
    a_browser_completes_a_ballot(Backend::Sqlite).await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        browser a_browser_completes_a_ballot_on_sqlite,
        browser a_leader_uses_the_compact_form_in_a_browser,
    ]
}
