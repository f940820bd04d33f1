//! The web chat, health and metrics over real HTTP.

use khaosat::web::ChatResponse;
use serde_json::json;

use crate::helpers::{Backend, Harness};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn post(c: &reqwest::Client, base: &str, kind: &str, value: &str) -> ChatResponse {
    let res = c
        .post(format!("{base}/api/chat"))
        .json(&json!({ "kind": kind, "value": value, "id": rand::random::<u64>().to_string() }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

fn text(r: &ChatResponse) -> String {
    r.replies
        .iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn button(r: &ChatResponse, label: &str) -> String {
    r.replies
        .iter()
        .flat_map(|r| r.choices.iter().chain(&r.controls))
        .find(|b| b.label.contains(label))
        .unwrap_or_else(|| panic!("no button {label}: {}", text(r)))
        .data
        .clone()
}

async fn web_chat_completes_a_ballot_and_resumes_on_reload(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let browser = client();
    // The link on the printed card.
    let page = browser
        .get(format!("{base}/s/{}", token.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("data-start=\"{}\"", token.as_str())));
    assert!(
        html.contains("lang=\"vi\"") && !html.contains("https://"),
        "no external assets"
    );

    let first = browser
        .post(format!("{base}/api/chat"))
        .json(&json!({ "kind": "start", "value": token.as_str(), "id": "a1" }))
        .send()
        .await
        .unwrap();
    let cookie = first
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let mut r: ChatResponse = first.json().await.unwrap();
    assert!(text(&r).contains("Câu 1/14"), "{}", text(&r));
    for _ in 0..5 {
        r = post(&browser, &base, "button", &button(&r, "Hài lòng")).await;
    }
    assert!(text(&r).contains("Câu 6/14"));

    // Reload: the page resumes the conversation from the cookie.
    r = post(&browser, &base, "resume", "").await;
    assert!(text(&r).contains("Câu 6/14"), "{}", text(&r));
    // Opening the card's link again does not restart the ballot either.
    r = post(&browser, &base, "start", token.as_str()).await;
    assert!(text(&r).contains("Câu 6/14"), "{}", text(&r));
    // Another browser has its own conversation.
    let other = post(&client(), &base, "resume", "").await;
    assert!(text(&other).contains("xin gõ mã phiếu"), "{}", text(&other));

    for _ in 0..5 {
        post(&browser, &base, "text", "4").await;
    }
    post(&browser, &base, "text", "bỏ qua").await;
    r = post(&browser, &base, "text", "rất hài lòng").await;
    r = post(&browser, &base, "button", &button(&r, "Bỏ qua")).await;
    r = post(&browser, &base, "button", &button(&r, "Gửi phiếu")).await;
    assert!(text(&r).contains("Mã biên nhận"), "{}", text(&r));
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 1);
    assert!(text(&r).contains(&ballots[0].ballot.receipt));
    h.finish().await;
}

async fn a_retried_request_is_applied_once(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let browser = client();
    post(&browser, &base, "start", token.as_str()).await;
    let send = |id: &'static str, value: &'static str| {
        browser
            .post(format!("{base}/api/chat"))
            .json(&json!({ "kind": "text", "value": value, "id": id }))
            .send()
    };
    let first: ChatResponse = send("same", "4").await.unwrap().json().await.unwrap();
    assert!(text(&first).contains("Câu 2/14"));
    let retry: ChatResponse = send("same", "4").await.unwrap().json().await.unwrap();
    assert!(retry.replies.is_empty(), "{}", text(&retry));
    let r = post(&browser, &base, "resume", "").await;
    assert!(text(&r).contains("Câu 2/14"), "{}", text(&r));
    h.finish().await;
}

async fn health_metrics_and_bad_requests(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let c = client();
    let health = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    // The page allows its own script by hash and nothing inline besides;
    // it cannot be framed, and its type is not sniffed.
    let page = c.get(format!("{base}/")).send().await.unwrap();
    let header = |name: &str| {
        page.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.contains("script-src 'sha256-")
            && !csp.contains("script-src 'unsafe-inline'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    post(&c, &base, "resume", "").await;
    post(&c, &base, "text", "xin chào").await;
    let bad = c
        .post(format!("{base}/api/chat"))
        .json(&json!({ "kind": "delete-everything" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // Its own client: the server may close that connection, which must not
    // be reused for the requests below.
    let huge = client()
        .post(format!("{base}/api/chat"))
        .json(&json!({ "kind": "text", "value": "x".repeat(200_000) }))
        .send()
        .await;
    // The server refuses after 64 KiB; it may close the connection before
    // the client has sent it all, so a reset is a refusal too.
    if let Ok(r) = huge {
        assert_eq!(r.status(), 413);
    }
    let metrics = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("khaosat_messages_in_total{channel=\"web\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("khaosat_messages_out_total{channel=\"web\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("khaosat_reply_seconds_count{channel=\"web\"} 2"),
        "{metrics}"
    );
    // Ballots are counted a batch at a time, as the mixer appends them:
    // nothing on this public page moves when one ballot is cast.
    assert!(
        metrics.contains("khaosat_ballots_mixed_total 0") && !metrics.contains("ballots_stored"),
        "{metrics}"
    );
    // The database goes away: health says so.
    h.store().close().await;
    let health = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    h.db.drop_db().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sqlite web_chat_completes_a_ballot_and_resumes_on_reload,
        sqlite a_retried_request_is_applied_once,
        sqlite health_metrics_and_bad_requests,
    ]
}
