//! The web chat, health and metrics over real HTTP.

use khaosat::web::ChatResponse;
use serde_json::json;

use crate::helpers::{Backend, Chat, Harness, communes};

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

pub(crate) async fn post(c: &reqwest::Client, base: &str, kind: &str, value: &str) -> ChatResponse {
    let res = post_raw(c, base, kind, value).await;
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

pub(crate) fn text(r: &ChatResponse) -> String {
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

/// Staff enrol in the web chat with their staff token and see progress there.
async fn staff_see_progress_in_the_web_chat(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let staff_token = khaosat::token::Token::generate(&mut rand::rng());
    h.store()
        .add_staff("Anh Minh", &staff_token.hash(&h.key), 0)
        .await
        .unwrap();
    let browser = client();
    browser.get(format!("{base}/")).send().await.unwrap();
    let printed = khaosat::survey::staff::display(&staff_token);
    let enrolled = post(&browser, &base, "text", &printed).await;
    assert!(
        text(&enrolled).contains("Đồng chí Anh Minh đã được ghi nhận"),
        "{}",
        text(&enrolled)
    );
    let progress = post(&browser, &base, "text", "tiến độ").await;
    assert!(
        text(&progress).contains("Tổng: 0/1100 phiếu"),
        "{}",
        text(&progress)
    );
    // Another browser, not enrolled: the words are only words.
    let other = client();
    other.get(format!("{base}/")).send().await.unwrap();
    assert!(!text(&post(&other, &base, "text", "tiến độ").await).contains("Tổng:"));
    h.finish().await;
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

/// The compact form's button for option `short` of question `row`.
fn grid_button(r: &ChatResponse, row: usize, short: &str) -> String {
    let grid = r
        .replies
        .iter()
        .find_map(|r| r.grid.as_ref())
        .unwrap_or_else(|| panic!("no compact form: {}", text(r)));
    grid.rows[row]
        .options
        .iter()
        .find(|b| b.label == short)
        .unwrap()
        .data
        .clone()
}

/// A leader rates 22 communes on the compact form, tapping one button per
/// area in any order, in two sittings (the page reloaded between them).
async fn a_leader_rates_22_communes_on_the_compact_form(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let communes = communes(&h.survey);
    assert_eq!(communes.len(), 22);
    let ids: Vec<&str> = communes.iter().map(String::as_str).collect();
    let token = h.token("can-bo", &ids).await;
    let browser = client();
    let mut r = post(&browser, &base, "start", token.as_str()).await;
    for unit in 0..22 {
        if unit == 9 {
            // The second sitting: the page is opened again later.
            r = post(&browser, &base, "resume", "").await;
        }
        let grid = r.replies.iter().find_map(|r| r.grid.as_ref()).unwrap();
        assert!(
            grid.title.ends_with(&format!("({}/22)", unit + 1)),
            "{}",
            grid.title
        );
        assert!(!grid.complete);
        assert!(
            r.replies
                .iter()
                .flat_map(|r| &r.controls)
                .all(|b| !b.label.contains("Gửi"))
        );
        // Bottom up, the last area "cannot say".
        for row in (0..6).rev() {
            let short = if row == 5 { "?" } else { "4" };
            r = post(&browser, &base, "button", &grid_button(&r, row, short)).await;
        }
        let grid = r.replies.iter().find_map(|r| r.grid.as_ref()).unwrap();
        assert!(grid.complete && grid.rows.iter().all(|row| row.answer.is_some()));
        assert!(grid.rows[0].options[3].selected);
        r = post(&browser, &base, "button", &button(&r, "Gửi đánh giá")).await;
        assert!(text(&r).contains("Đã ghi nhận đánh giá"), "{}", text(&r));
    }
    assert!(text(&r).contains("đánh giá xong 22"), "{}", text(&r));
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 22);
    assert!(ballots.iter().all(|b| {
        b.ballot.answers.len() == 6
            && b.ballot.answers.get("hien-dai-hoa") == Some(&khaosat::dialogue::Answer::Choice(6))
            && b.ballot.answers.get("chi-dao-dieu-hanh")
                == Some(&khaosat::dialogue::Answer::Choice(4))
    }));
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
    // The response was lost, say: the retry gets the same replies, and the
    // answer is not applied twice.
    let retry: ChatResponse = send("same", "4").await.unwrap().json().await.unwrap();
    assert_eq!(text(&retry), text(&first));
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

/// The session cookie of a response, as `name=value` (empty when cleared).
fn session_of(res: &reqwest::Response) -> Option<String> {
    let cookie = res.headers().get("set-cookie")?.to_str().ok()?;
    let pair = cookie.split(';').next()?.to_string();
    Some(if cookie.contains("Max-Age=0") {
        String::new()
    } else {
        pair
    })
}

async fn post_raw(c: &reqwest::Client, base: &str, kind: &str, value: &str) -> reqwest::Response {
    c.post(format!("{base}/api/chat"))
        .json(&json!({ "kind": kind, "value": value, "id": rand::random::<u64>().to_string() }))
        .send()
        .await
        .unwrap()
}

/// The server issues and signs the session: a made-up one is ignored, a
/// new one comes when a token is accepted, "Bắt đầu phiếu mới" starts a
/// session that knows nothing of the last, and the end of the
/// conversation clears the cookie.
async fn web_sessions_are_issued_by_the_server(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let base = h.serve_http().await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    // A browser that picks its own session id gets one of the server's.
    let forged = reqwest::Client::new()
        .post(format!("{base}/api/chat"))
        .header(
            "cookie",
            format!("khaosat_sid={}.{}", "a".repeat(32), "b".repeat(32)),
        )
        .json(&json!({ "kind": "start", "value": token.as_str() }))
        .send()
        .await
        .unwrap();
    let issued = session_of(&forged).expect("a session of the server's own");
    assert!(
        issued.starts_with("khaosat_sid=") && !issued.contains(&"a".repeat(32)),
        "{issued}"
    );

    let browser = client();
    // Nothing to keep yet: no cookie.
    let welcome = post_raw(&browser, &base, "resume", "").await;
    assert_eq!(session_of(&welcome), None);
    let started = post_raw(&browser, &base, "start", token.as_str()).await;
    let first = session_of(&started).expect("a session once the token is accepted");
    let r: ChatResponse = started.json().await.unwrap();
    assert!(text(&r).contains("Câu 1/14"), "{}", text(&r));
    post(&browser, &base, "text", "4").await;
    let r = post(&browser, &base, "resume", "").await;
    assert!(
        text(&r).contains("Câu 2/14"),
        "the session goes on: {}",
        text(&r)
    );

    // A shared tablet: the next person starts afresh and sees nothing of
    // the last, whose unfinished ballot is dropped.
    let reset = post_raw(&browser, &base, "reset", "").await;
    assert_eq!(
        session_of(&reset).as_deref(),
        Some(""),
        "the cookie is cleared"
    );
    let r: ChatResponse = reset.json().await.unwrap();
    assert!(text(&r).contains("xin gõ mã phiếu"), "{}", text(&r));
    let r = post(&browser, &base, "resume", "").await;
    assert!(!text(&r).contains("Câu 2/14"), "{}", text(&r));

    // The card again: a new conversation under a new session, finished;
    // the cookie goes with the conversation.
    let again = post_raw(&browser, &base, "start", token.as_str()).await;
    let second = session_of(&again).expect("a new session");
    assert_ne!(first, second, "rotated when the token was accepted");
    let r: ChatResponse = again.json().await.unwrap();
    assert!(text(&r).contains("Câu 1/14"), "{}", text(&r));
    for typed in [
        "4", "4", "4", "4", "4", "4", "4", "4", "4", "4", "bỏ qua", "5", "bỏ qua",
    ] {
        post(&browser, &base, "text", typed).await;
    }
    let sent = post_raw(&browser, &base, "text", "gửi").await;
    assert_eq!(session_of(&sent).as_deref(), Some(""), "cleared at the end");
    let r: ChatResponse = sent.json().await.unwrap();
    assert!(text(&r).contains("Mã biên nhận"), "{}", text(&r));
    h.finish().await;
}

/// Open-access links need a messaging account: a browser could be anyone,
/// again and again.
async fn open_access_is_refused_on_the_web(backend: Backend) {
    let mut h = Harness::small(backend).await;
    let base = h.serve_http().await;
    let r = post(&client(), &base, "start", "o_dan_xa-a").await;
    assert!(
        text(&r).contains("chỉ dùng được trong Zalo hoặc Telegram"),
        "{}",
        text(&r)
    );
    assert!(h.ballots().await.is_empty());
    h.finish().await;
}

/// 10,000 guesses through the web chat, each from a fresh browser and a
/// different forwarded address (the proxy is trusted): the web chat's
/// budget stops them after a few hundred, while a citizen on Telegram at
/// the same time is let in.
async fn ten_thousand_web_guesses_are_stopped(backend: Backend) {
    use khaosat::survey::{PER_ADDRESS_PER_HOUR, PER_CHANNEL_PER_HOUR};
    let mut h = Harness::shipped(backend).await;
    let base = h
        .serve(|s| s.trusted_proxies = vec![[127, 0, 0, 1].into()])
        .await;
    let good = h.token("nguoi-dan", &["binh-an"]).await;
    let http = reqwest::Client::new();
    let guesses = (0..10_000u32).map(|i| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let guess = khaosat::token::Token::generate(&mut rand::rng());
            let forwarded = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let r: ChatResponse = http
                .post(format!("{base}/api/chat"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({ "kind": "start", "value": guess.as_str() }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            text(&r)
        }
    });
    let mut looked_at = 0;
    let mut refused = 0;
    use futures_util::StreamExt;
    let mut answers = futures_util::stream::iter(guesses).buffer_unordered(8);
    while let Some(answer) = answers.next().await {
        if answer.contains("Không tìm thấy") {
            looked_at += 1;
        } else if answer.contains("sai quá nhiều lần") {
            refused += 1;
        }
    }
    assert!(
        looked_at <= PER_CHANNEL_PER_HOUR as usize + 5,
        "{looked_at} guesses were looked at"
    );
    assert_eq!(looked_at + refused, 10_000);
    eprintln!("10,000 web guesses: {looked_at} looked at, {refused} refused");
    // Meanwhile on Telegram: a real token works.
    let mut citizen = Chat::new("telegram", "8800");
    citizen.start(&h.survey, Some(good.as_str())).await;
    assert!(citizen.text().contains("Câu 1/14"), "{}", citizen.text());
    // Without a trusted proxy the forwarded address is anyone's word: one
    // address, and its own budget stops it sooner.
    h.stop().await;
    let base = h.serve_http().await;
    let mut looked_at = 0;
    for _ in 0..PER_ADDRESS_PER_HOUR + 10 {
        let guess = khaosat::token::Token::generate(&mut rand::rng());
        let r: ChatResponse = reqwest::Client::new()
            .post(format!("{base}/api/chat"))
            .header("x-forwarded-for", "203.0.113.9")
            .json(&json!({ "kind": "start", "value": guess.as_str() }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        looked_at += usize::from(text(&r).contains("Không tìm thấy"));
    }
    assert_eq!(looked_at, PER_ADDRESS_PER_HOUR as usize);
    h.finish().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sqlite a_leader_rates_22_communes_on_the_compact_form,
        sqlite web_sessions_are_issued_by_the_server,
        sqlite staff_see_progress_in_the_web_chat,
        sqlite open_access_is_refused_on_the_web,
        sqlite ten_thousand_web_guesses_are_stopped,
        sqlite web_chat_completes_a_ballot_and_resumes_on_reload,
        sqlite a_retried_request_is_applied_once,
        sqlite health_metrics_and_bad_requests,
    ]
}
