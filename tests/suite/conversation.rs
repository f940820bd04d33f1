//! Whole conversations through the survey service on a real store.

use khaosat::dialogue::Answer;
use khaosat::survey::Content;

use crate::helpers::{Backend, Chat, Harness};

const SIX_AREAS: usize = 6;

/// Answers every question of the shipped citizen questionnaire by buttons.
async fn citizen_by_buttons(h: &Harness, chat: &mut Chat) {
    for _ in 0..10 {
        chat.press(&h.survey, "Hài lòng").await;
    }
    assert!(chat.text().contains("Câu 11/"), "{}", chat.text());
    chat.press(&h.survey, "Bỏ qua").await; // number of visits: optional
    chat.press(&h.survey, "Rất hài lòng").await; // overall
    chat.press(&h.survey, "Bỏ qua").await; // wishes: optional
}

async fn citizen_ballot_by_buttons_is_stored(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("telegram", "1001");
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(chat.text().contains("Câu 1/14"), "{}", chat.text());
    assert!(chat.text().contains("UBND xã Bình An"));
    citizen_by_buttons(&h, &mut chat).await;
    assert!(
        chat.text().contains("Xin ông/bà xem lại"),
        "{}",
        chat.text()
    );
    // The conditional question was not asked: overall was positive.
    assert!(!chat.text().contains("Điều chưa hài lòng"));
    chat.press(&h.survey, "Gửi phiếu").await;
    assert!(chat.text().contains("Mã biên nhận"), "{}", chat.text());
    assert!(chat.text().contains("Xin chân thành cảm ơn"));

    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 1);
    let b = &ballots[0];
    assert_eq!(
        (b.ballot.unit.as_str(), b.ballot.group.as_str()),
        ("binh-an", "nguoi-dan")
    );
    assert_eq!(b.ballot.answers.get("thai-do"), Some(&Answer::Choice(4)));
    assert_eq!(b.ballot.answers.get("tong-the"), Some(&Answer::Choice(5)));
    assert_eq!(b.ballot.answers.get("mong-muon"), Some(&Answer::Skipped));
    assert!(!b.ballot.answers.contains_key("chua-hai-long"));
    assert_eq!(b.ballot.batch_date, "2021-02-01");
    assert!(
        chat.text().contains(&b.ballot.receipt),
        "the receipt shown is the stored one"
    );
    h.finish().await;
}

async fn citizen_ballot_by_typing_is_stored(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["ha-lam"]).await;
    let mut chat = Chat::new("zalo", "z-1");
    // Typed by hand, lower case, with spaces.
    chat.say(&h.survey, &token.display().to_lowercase().replace('-', " "))
        .await;
    assert!(chat.text().contains("Câu 1/14"), "{}", chat.text());
    let decomposed: String = unicode_normalization::UnicodeNormalization::nfd("Hài lòng").collect();
    let typed = [
        "4",
        "hai long",
        "Hài lòng",
        &decomposed,
        "  RẤT hài   lòng 😊 ",
        "5",
        "4",
        "4",
        "3",
        "binh thuong",
    ];
    for t in typed {
        chat.say(&h.survey, t).await;
    }
    chat.say(&h.survey, "2").await; // visits
    chat.say(&h.survey, "khong hai long").await; // overall → the follow-up is asked
    assert!(
        chat.text().contains("Điều gì khiến ông/bà chưa hài lòng"),
        "{}",
        chat.text()
    );
    chat.say(&h.survey, "1, 3").await;
    chat.say(&h.survey, "Cần thêm ghế chờ").await;
    assert!(chat.text().contains("xem lại"), "{}", chat.text());
    chat.say(&h.survey, "gửi").await;
    assert!(chat.text().contains("Mã biên nhận"), "{}", chat.text());
    let b = &h.ballots().await[0].ballot;
    let expect = [
        ("thai-do", Answer::Choice(4)),
        ("huong-dan", Answer::Choice(4)),
        ("chuyen-mon", Answer::Choice(4)),
        ("tuan-thu", Answer::Choice(4)),
        ("cong-khai", Answer::Choice(5)),
        ("de-hieu", Answer::Choice(5)),
        ("day-du", Answer::Choice(4)),
        ("thoi-gian", Answer::Choice(4)),
        ("noi-tiep-nhan", Answer::Choice(3)),
        ("ket-qua", Answer::Choice(3)),
        ("so-lan-di-lai", Answer::Number(2.0)),
        ("tong-the", Answer::Choice(2)),
        ("chua-hai-long", Answer::Choices(vec![1, 3])),
        ("mong-muon", Answer::Text("Cần thêm ghế chờ".into())),
    ];
    for (q, a) in expect {
        assert_eq!(b.answers.get(q), Some(&a), "{q}");
    }
    h.finish().await;
}

async fn leader_answers_units_across_a_restart(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let units = ["binh-an", "binh-chanh", "binh-duong"];
    let token = h.token("can-bo", &units).await;
    let mut chat = Chat::new("telegram", "leader-1");
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(
        chat.text().contains("Đơn vị 1/3: UBND xã Bình An"),
        "{}",
        chat.text()
    );
    assert!(
        chat.text().contains("Bình Chánh, UBND xã Bình Dương"),
        "remaining units are listed"
    );
    for _ in 0..SIX_AREAS {
        chat.press(&h.survey, "Tác động tích cực").await;
    }
    chat.press(&h.survey, "Gửi phiếu").await;
    assert!(
        chat.text()
            .contains("Đã ghi nhận đánh giá về UBND xã Bình An"),
        "{}",
        chat.text()
    );
    assert!(chat.text().contains("Đơn vị 2/3: UBND xã Bình Chánh"));
    chat.press(&h.survey, "Không đánh giá được").await;
    chat.press(&h.survey, "Tác động vừa").await;
    let before = chat.text();
    assert!(before.contains("Câu 3/6"), "{before}");

    // The bot restarts; the leader comes back days later.
    h.restart().await;
    h.set_time("2021-02-05T14:00:00");
    chat.start(&h.survey, None).await;
    assert!(
        chat.text().contains("tiếp tục từ chỗ đã dừng"),
        "{}",
        chat.text()
    );
    assert!(chat.text().contains("Câu 3/6"), "{}", chat.text());
    assert!(chat.text().contains("UBND xã Bình Chánh (2/3)"));
    for _ in 2..SIX_AREAS {
        chat.say(&h.survey, "5").await;
    }
    chat.say(&h.survey, "gửi").await;
    // Or with the same token from another channel: only the last unit remains.
    let mut web = Chat::new("web", "browser-1");
    web.start(&h.survey, Some(token.as_str())).await;
    assert!(
        web.text().contains("Đơn vị 1/1: UBND xã Bình Dương"),
        "{}",
        web.text()
    );
    for _ in 0..SIX_AREAS {
        web.say(&h.survey, "4").await;
    }
    web.say(&h.survey, "gửi").await;
    assert!(web.text().contains("đánh giá xong 1"), "{}", web.text());
    // The first channel's session, still on that unit, is refused it
    // politely when it sends: the unit's ballot came from the web.
    for _ in 0..SIX_AREAS {
        chat.say(&h.survey, "4").await;
    }
    chat.say(&h.survey, "gửi").await;
    assert!(
        chat.text().contains("đã được dùng") && !chat.text().contains("Mã biên nhận"),
        "{}",
        chat.text()
    );

    // One ballot per unit; the mixer decides their order in the chain.
    let ballots = h.ballots().await;
    let mut got: Vec<_> = ballots.iter().map(|b| b.ballot.unit.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, units);
    let chanh = ballots
        .iter()
        .find(|b| b.ballot.unit == "binh-chanh")
        .unwrap();
    assert_eq!(
        chanh.ballot.answers.get("chi-dao-dieu-hanh"),
        Some(&Answer::Choice(6))
    );
    assert_eq!(chanh.ballot.batch_date, "2021-02-05");
    h.finish().await;
}

async fn redelivered_message_changes_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("telegram", "1002");
    chat.start(&h.survey, Some(token.as_str())).await;
    let first = chat
        .send_with_id(
            &h.survey,
            Content::Text("4".into()),
            Some("update-77".into()),
        )
        .await;
    assert!(!first.duplicate);
    assert!(chat.text().contains("Câu 2/14"));
    let again = chat
        .send_with_id(
            &h.survey,
            Content::Text("1".into()),
            Some("update-77".into()),
        )
        .await;
    assert!(again.duplicate);
    // A caller (no sender of its own) gets the replies to the first
    // delivery again, unchanged by the second's content.
    assert_eq!(again.replies, first.replies);
    // Still at question 2, with question 1 answered "4".
    chat.say(&h.survey, "quay lại").await;
    assert!(chat.text().contains("Câu 1/14"));
    assert!(
        chat.text().contains("Câu trả lời hiện tại: Hài lòng"),
        "{}",
        chat.text()
    );
    h.finish().await;
}

async fn stale_and_forged_buttons_change_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("telegram", "1003");
    chat.start(&h.survey, Some(token.as_str())).await;
    let old = chat.button_data("Rất không hài lòng");
    chat.press(&h.survey, "Hài lòng").await;
    assert!(chat.text().contains("Câu 2/14"));
    // A press on the first question's message arrives late.
    chat.send(&h.survey, Content::button(&old)).await;
    assert!(
        chat.text().contains("thuộc một tin nhắn trước"),
        "{}",
        chat.text()
    );
    assert!(chat.text().contains("Câu 2/14"));
    for forged in ["", "garbage", "99999:p1", "1:p1:extra", "💣"] {
        chat.send(&h.survey, Content::button(forged)).await;
        assert!(
            chat.text().contains("Câu 2/14"),
            "{forged}: {}",
            chat.text()
        );
    }
    // Right step, option out of range.
    let data = chat.action_data(khaosat::engine::Action::Pick(42));
    chat.send(&h.survey, Content::button(&data)).await;
    assert!(chat.text().contains("không hợp lệ"), "{}", chat.text());
    // Stickers and photos.
    chat.send(&h.survey, Content::Other).await;
    assert!(chat.text().contains("chỉ đọc được tin nhắn chữ"));
    assert!(chat.text().contains("Câu 2/14"));
    chat.say(&h.survey, "quay lại").await;
    assert!(
        chat.text().contains("Câu trả lời hiện tại: Hài lòng"),
        "{}",
        chat.text()
    );
    assert!(h.ballots().await.is_empty());
    h.finish().await;
}

async fn huge_and_empty_text_get_polite_replies(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("zalo", "z-2");
    chat.start(&h.survey, Some(token.as_str())).await;
    chat.say(&h.survey, "").await;
    assert!(chat.text().contains("Tin nhắn trống"));
    chat.say(&h.survey, &"á".repeat(100_000)).await;
    assert!(chat.text().contains("chưa hiểu"), "{}", chat.text());
    assert!(
        chat.text().len() < 2_000,
        "the huge text is not echoed back whole"
    );
    for _ in 0..11 {
        chat.say(&h.survey, "4").await;
    }
    chat.say(&h.survey, "4").await; // overall
    assert!(chat.text().contains("mong muốn"), "{}", chat.text());
    chat.say(&h.survey, &"x".repeat(1001)).await;
    assert!(
        chat.text().contains("vượt quá giới hạn 1000 ký tự"),
        "{}",
        chat.text()
    );
    chat.say(&h.survey, "bỏ qua").await;
    assert!(chat.text().contains("xem lại"));
    h.finish().await;
}

async fn token_problems_get_polite_messages(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let mut chat = Chat::new("telegram", "1004");
    chat.start(&h.survey, None).await;
    assert!(chat.text().contains("xin gõ mã phiếu"), "{}", chat.text());
    assert!(
        !chat.text().contains("Không có mã phiếu?"),
        "the shipped campaign has no open group"
    );
    chat.say(&h.survey, "xin chào").await;
    assert!(chat.text().contains("xin gõ mã phiếu"));

    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut typo: Vec<char> = token.as_str().chars().collect();
    typo[3] = if typo[3] == 'A' { 'B' } else { 'A' };
    chat.say(&h.survey, &typo.iter().collect::<String>()).await;
    assert!(
        chat.text().contains("Mã phiếu chưa đúng"),
        "{}",
        chat.text()
    );

    let unknown = khaosat::token::Token::generate(&mut rand::rng());
    chat.say(&h.survey, &unknown.display()).await;
    assert!(
        chat.text().contains("Không tìm thấy mã phiếu"),
        "{}",
        chat.text()
    );

    let expired = h
        .token_expiring(
            "nguoi-dan",
            &["binh-an"],
            Some(crate::helpers::vn("2021-01-31T23:59:59").timestamp()),
        )
        .await;
    chat.say(&h.survey, &expired.display()).await;
    assert!(chat.text().contains("hết hạn"), "{}", chat.text());

    let wrong = h.token("nguoi-dan", &["thanh-tra"]).await;
    chat.say(&h.survey, &wrong.display()).await;
    assert!(
        chat.text().contains("không dùng cho đơn vị"),
        "{}",
        chat.text()
    );

    // A used token.
    let mut first = Chat::new("telegram", "1005");
    first.start(&h.survey, Some(token.as_str())).await;
    citizen_by_buttons(&h, &mut first).await;
    first.press(&h.survey, "Gửi phiếu").await;
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(chat.text().contains("đã được dùng"), "{}", chat.text());
    assert_eq!(h.ballots().await.len(), 1);
    // Someone in the middle of a ballot who tries a used token loses nothing.
    let own = h.token("nguoi-dan", &["ha-lam"]).await;
    chat.start(&h.survey, Some(own.as_str())).await;
    chat.say(&h.survey, "4").await;
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(chat.text().contains("đã được dùng"), "{}", chat.text());
    chat.start(&h.survey, None).await;
    assert!(
        chat.text().contains("Câu 2/14") && chat.text().contains("UBND thị trấn Hà Lam"),
        "{}",
        chat.text()
    );
    h.finish().await;
}

async fn guessing_is_limited_per_respondent(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let good = h.token("nguoi-dan", &["binh-an"]).await;
    // A token already used for all its units.
    let spent = h.token("nguoi-dan", &["binh-chanh"]).await;
    let mut other = Chat::new("telegram", "spender");
    other.start(&h.survey, Some(spent.as_str())).await;
    for typed in [
        "4", "4", "4", "4", "4", "4", "4", "4", "4", "4", "bỏ qua", "5", "bỏ qua", "gửi",
    ] {
        other.say(&h.survey, typed).await;
    }
    assert!(other.text().contains("Mã biên nhận"), "{}", other.text());

    let mut chat = Chat::new("zalo", "guesser");
    let wrong = || khaosat::token::Token::generate(&mut rand::rng()).display();
    for _ in 1..khaosat::survey::TOKEN_ATTEMPTS_PER_HOUR {
        chat.say(&h.survey, &wrong()).await;
        assert!(chat.text().contains("Không tìm thấy"), "{}", chat.text());
    }
    // A typo is caught by the check symbol: told, not counted.
    let mut typo: Vec<char> = good.as_str().chars().collect();
    typo[3] = if typo[3] == 'A' { 'B' } else { 'A' };
    for _ in 0..5 {
        chat.say(&h.survey, &typo.iter().collect::<String>()).await;
        assert!(
            chat.text().contains("Mã phiếu chưa đúng"),
            "{}",
            chat.text()
        );
    }
    // A spent token is no proof of anything: it clears nothing.
    chat.say(&h.survey, spent.as_str()).await;
    assert!(chat.text().contains("đã được dùng"), "{}", chat.text());
    chat.say(&h.survey, &wrong()).await;
    assert!(chat.text().contains("Không tìm thấy"), "{}", chat.text());
    chat.say(&h.survey, &good.display()).await;
    assert!(chat.text().contains("sai quá nhiều lần"), "{}", chat.text());
    // An hour later the respondent may try again.
    h.set_time("2021-02-01T10:00:01");
    chat.say(&h.survey, &good.display()).await;
    assert!(chat.text().contains("Câu 1/14"), "{}", chat.text());
    h.finish().await;
}

async fn closed_survey_accepts_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut late = Chat::new("telegram", "1006");
    late.start(&h.survey, Some(token.as_str())).await;
    citizen_by_buttons(&h, &mut late).await;
    // The clock passes the end of 15/02/2021 before the respondent confirms.
    h.set_time("2021-02-16T00:00:00");
    late.press(&h.survey, "Gửi phiếu").await;
    assert!(
        late.text()
            .contains("Đợt khảo sát đã kết thúc lúc 15/02/2021 23:59"),
        "{}",
        late.text()
    );
    let mut new = Chat::new("telegram", "1007");
    new.start(&h.survey, Some(token.as_str())).await;
    assert!(new.text().contains("đã kết thúc"), "{}", new.text());
    h.set_time("2020-12-31T23:00:00");
    new.start(&h.survey, Some(token.as_str())).await;
    assert!(new.text().contains("chưa bắt đầu"), "{}", new.text());
    assert!(h.ballots().await.is_empty());
    h.finish().await;
}

async fn cancel_asks_first_and_keeps_the_token(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("web", "w-1");
    chat.start(&h.survey, Some(token.as_str())).await;
    chat.press(&h.survey, "Hài lòng").await;
    chat.press(&h.survey, "Hủy").await;
    assert!(chat.text().contains("có chắc muốn hủy"));
    chat.press(&h.survey, "Không, trả lời tiếp").await;
    assert!(chat.text().contains("Câu 2/14"), "{}", chat.text());
    chat.say(&h.survey, "hủy").await;
    chat.say(&h.survey, "có").await;
    assert!(chat.text().contains("Đã hủy"), "{}", chat.text());
    chat.say(&h.survey, "4").await;
    assert!(
        chat.text().contains("xin gõ mã phiếu"),
        "the conversation has ended: {}",
        chat.text()
    );
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(
        chat.text().contains("Câu 1/14"),
        "the token still works: {}",
        chat.text()
    );
    h.finish().await;
}

async fn quotas_and_open_access(backend: Backend) {
    let h = Harness::small(backend).await;
    // Open access: a public link per unit; one ballot per channel user and unit.
    let link = "o_dan_xa-a";
    let mut a = Chat::new("telegram", "citizen-a");
    a.start(&h.survey, None).await;
    assert!(
        a.text()
            .contains("Không có mã phiếu? Người dân có thể trả lời không cần mã"),
        "{}",
        a.text()
    );
    a.start(&h.survey, Some(link)).await;
    assert!(
        a.text().contains("Ông/bà có hài lòng không?"),
        "{}",
        a.text()
    );
    a.say(&h.survey, "hài lòng").await;
    a.say(&h.survey, "bỏ qua").await;
    a.say(&h.survey, "gửi").await;
    assert!(a.text().contains("Mã biên nhận"), "{}", a.text());
    a.start(&h.survey, Some(link)).await;
    assert!(a.text().contains("đã được dùng"), "{}", a.text());
    // The quota for xa-a citizens (1) is now full.
    let mut b = Chat::new("telegram", "citizen-b");
    b.start(&h.survey, Some(link)).await;
    assert!(
        b.text().contains("UBND xã A đã nhận đủ số phiếu"),
        "{}",
        b.text()
    );
    b.start(&h.survey, Some("o_dan_xa-zzz")).await;
    assert!(b.text().contains("không dùng cho đơn vị"), "{}", b.text());
    b.start(&h.survey, Some("o_can-bo_xa-a")).await;
    assert!(
        b.text().contains("không dùng cho đơn vị"),
        "token groups are not open: {}",
        b.text()
    );
    // Officials' quota of 2 per unit: a third leader skips the full unit.
    for (leader, units) in [
        ("l1", vec!["xa-a", "xa-b"]),
        ("l2", vec!["xa-a"]),
        ("l3", vec!["xa-a", "xa-b"]),
    ] {
        let t = h.token("can-bo", &units).await;
        let mut c = Chat::new("telegram", leader);
        c.start(&h.survey, Some(t.as_str())).await;
        if leader == "l3" {
            assert!(c.text().contains("UBND xã A đã nhận đủ"), "{}", c.text());
            assert!(c.text().contains("Đơn vị 1/1: UBND xã B"), "{}", c.text());
            continue;
        }
        while !c.text().contains("Xin cảm ơn") {
            c.say(&h.survey, "nhiều").await;
            if c.text().contains("xem lại") {
                c.say(&h.survey, "gửi").await;
            }
        }
    }
    let counts = h.store().ballot_counts("small").await.unwrap();
    let count = |u: &str, g: &str| {
        counts
            .iter()
            .find(|c| c.0 == u && c.1 == g)
            .map_or(0, |c| c.2)
    };
    assert_eq!(
        (
            count("xa-a", "dan"),
            count("xa-a", "can-bo"),
            count("xa-b", "can-bo")
        ),
        (1, 2, 1)
    );
    h.finish().await;
}

async fn session_stays_on_its_dialogue_version(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["campaign.toml", "can-bo.toml", "dan.toml"] {
        std::fs::copy(
            crate::helpers::small_campaign_dir().join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    let mut h = Harness::new(backend, dir.path().to_path_buf()).await;
    let mut old = Chat::new("telegram", "old");
    old.start(&h.survey, Some("o_dan_xa-a")).await;
    assert!(old.text().contains("Ông/bà có hài lòng không?"));
    // Phòng Nội vụ edits the question while the survey runs.
    let path = dir.path().join("dan.toml");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Ông/bà có hài lòng không?", "Ông/bà hài lòng chứ?");
    std::fs::write(&path, edited).unwrap();
    h.restart().await;
    old.start(&h.survey, None).await;
    assert!(
        old.text().contains("Ông/bà có hài lòng không?"),
        "the old version goes on: {}",
        old.text()
    );
    let mut new = Chat::new("telegram", "new");
    new.start(&h.survey, Some("o_dan_xa-b")).await;
    assert!(
        new.text().contains("Ông/bà hài lòng chứ?"),
        "{}",
        new.text()
    );
    old.say(&h.survey, "1").await;
    old.say(&h.survey, "bỏ qua").await;
    old.say(&h.survey, "gửi").await;
    let versions: Vec<_> = h
        .ballots()
        .await
        .iter()
        .map(|b| b.ballot.dialogue_version.clone())
        .collect();
    assert_eq!(versions.len(), 1);
    assert_ne!(
        versions[0],
        h.survey
            .campaign()
            .dialogues()
            .iter()
            .find(|d| d.id() == "dan")
            .unwrap()
            .version()
    );
    h.finish().await;
}

/// Message ids are remembered for three days: a redelivery within them is
/// ignored; after them the id is forgotten, so an id Telegram reuses after a
/// quiet week is a new message.
async fn message_ids_are_forgotten_after_three_days(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("telegram", "1003");
    chat.start(&h.survey, Some(token.as_str())).await;
    let id = Some("update-5".to_string());
    let text = || Content::Text("4".into());
    assert!(
        !chat
            .send_with_id(&h.survey, text(), id.clone())
            .await
            .duplicate
    );
    h.set_time("2021-02-03T09:00:00");
    assert_eq!(h.survey.forget_old_message_ids().await.unwrap(), 0);
    assert!(
        chat.send_with_id(&h.survey, text(), id.clone())
            .await
            .duplicate
    );
    h.set_time("2021-02-04T09:00:01");
    assert_eq!(
        h.survey.forget_old_message_ids().await.unwrap(),
        2,
        "the start and the answer"
    );
    let reused = chat.send_with_id(&h.survey, text(), id).await;
    assert!(!reused.duplicate);
    assert!(chat.text().contains("Câu 3/14"), "{}", chat.text());
    h.finish().await;
}

/// A conversation left idle longer than the campaign allows (7 days) is
/// deleted; its respondent, coming back, is told why and may start again.
async fn idle_conversations_are_purged_with_a_note(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("zalo", "idle-1");
    chat.start(&h.survey, Some(token.as_str())).await;
    chat.say(&h.survey, "4").await;
    h.set_time("2021-02-07T09:00:00");
    assert_eq!(
        h.survey.expire_idle_sessions().await.unwrap(),
        0,
        "6 days: kept"
    );
    h.set_time("2021-02-09T09:00:00");
    assert_eq!(
        h.survey.expire_idle_sessions().await.unwrap(),
        1,
        "8 days: purged"
    );
    assert!(!h.survey.has_session("zalo", "idle-1").await.unwrap());
    chat.say(&h.survey, "4").await;
    assert!(
        chat.text().contains("đã được xóa vì lâu không tiếp tục"),
        "{}",
        chat.text()
    );
    // Told once; the token still works.
    chat.start(&h.survey, Some(token.as_str())).await;
    assert!(
        chat.text().contains("Câu 1/14") && !chat.text().contains("đã được xóa"),
        "{}",
        chat.text()
    );
    h.finish().await;
}

/// Interim figures count each cell's ballots only in whole multiples of
/// min_cell: one more ballot never changes a published figure.
async fn interim_figures_move_in_steps_of_min_cell(backend: Backend) {
    use khaosat::report::{Scope, write_reports};
    let h = Harness::shipped(backend).await;
    let mut counted = Vec::new();
    for n in 1..=11 {
        let token = h.token("nguoi-dan", &["binh-an"]).await;
        let mut chat = Chat::new("telegram", &format!("interim-{n}"));
        chat.start(&h.survey, Some(token.as_str())).await;
        for _ in 0..10 {
            chat.say(&h.survey, "4").await;
        }
        for typed in [
            "bỏ qua",
            if n % 2 == 0 { "4" } else { "5" },
            "bỏ qua",
            "gửi",
        ] {
            chat.say(&h.survey, typed).await;
        }
        assert!(chat.text().contains("Mã biên nhận"), "{}", chat.text());
        h.survey.mix(true).await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let written = write_reports(
            h.store(),
            h.survey.campaign(),
            out.path(),
            h.survey.now(),
            Scope::Interim,
        )
        .await
        .unwrap();
        let cell = written
            .report
            .units()
            .find(|(_, u)| u.id == "binh-an")
            .map(|(_, u)| u.cells[1].ballots)
            .unwrap();
        counted.push(cell);
        assert!(!out.path().join("phieu-nguoi-dan.csv").exists());
    }
    assert_eq!(counted, [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10]);
    h.finish().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        both idle_conversations_are_purged_with_a_note,
        both interim_figures_move_in_steps_of_min_cell,
        both message_ids_are_forgotten_after_three_days,
        both citizen_ballot_by_buttons_is_stored,
        both citizen_ballot_by_typing_is_stored,
        both leader_answers_units_across_a_restart,
        both redelivered_message_changes_nothing,
        both stale_and_forged_buttons_change_nothing,
        both huge_and_empty_text_get_polite_replies,
        both token_problems_get_polite_messages,
        both guessing_is_limited_per_respondent,
        both closed_survey_accepts_nothing,
        both cancel_asks_first_and_keeps_the_token,
        both quotas_and_open_access,
        both session_stays_on_its_dialogue_version,
    ]
}
