//! Integrity and anonymity guarantees of the store itself.

use std::collections::HashSet;

use khaosat::ballot::GENESIS;
use sqlx::Row;

use crate::helpers::{Backend, Chat, Harness};

/// Takes a citizen of the shipped campaign to the review screen.
async fn to_review(h: &Harness, chat: &mut Chat, token: &str) {
    chat.start(&h.survey, Some(token)).await;
    for _ in 0..10 {
        chat.say(&h.survey, "4").await;
    }
    chat.say(&h.survey, "bỏ qua").await;
    chat.say(&h.survey, "5").await;
    chat.say(&h.survey, "bỏ qua").await;
    assert!(chat.text().contains("xem lại"), "{}", chat.text());
}

/// One citizen ballot for each unit, in order.
async fn submit_citizen_ballots(h: &Harness, units: &[&str]) {
    for (i, unit) in units.iter().enumerate() {
        let token = h.token("nguoi-dan", &[unit]).await;
        let mut c = Chat::new("telegram", &format!("citizen-{i}"));
        to_review(h, &mut c, token.as_str()).await;
        c.say(&h.survey, "gửi").await;
    }
}

/// Each statement is refused by the database as a change to an append-only table.
async fn refused_as_append_only(pool: &sqlx::AnyPool, statements: &[&str]) {
    for sql in statements {
        let err = sqlx::query(sql)
            .execute(pool)
            .await
            .expect_err(sql)
            .to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

async fn ballots_refuse_update_and_delete(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut chat = Chat::new("telegram", "u1");
    to_review(&h, &mut chat, token.as_str()).await;
    chat.say(&h.survey, "gửi").await;
    assert_eq!(h.ballots().await.len(), 1);
    let pool = &h.raw_pool().await;
    refused_as_append_only(
        pool,
        &[
            "UPDATE ballots SET unit_id = 'binh-chanh'",
            "UPDATE ballots SET answers = '{}' WHERE seq = 1",
            "DELETE FROM ballots",
            "DELETE FROM ballots WHERE seq = 1",
        ],
    )
    .await;
    // Replacing a ballot, or inserting one out of sequence or off the head.
    let copy = "SELECT campaign, unit_id, 'binh-chanh', dialogue_id, dialogue_version, batch, \
                batch_date, receipt || 'X', salt, answers, prev_hash, hash || 'X' FROM ballots";
    let mut inserts = vec![
        format!("INSERT INTO ballots SELECT 3, {} WHERE 1 = 1", &copy[7..]),
        format!("INSERT INTO ballots SELECT 2, {}", &copy[7..]),
    ];
    if backend == Backend::Sqlite {
        inserts.push(format!(
            "INSERT OR REPLACE INTO ballots SELECT 1, {}",
            &copy[7..]
        ));
    }
    let inserts: Vec<&str> = inserts.iter().map(String::as_str).collect();
    refused_as_append_only(pool, &inserts).await;
    if backend == Backend::Postgres {
        let err = sqlx::query("TRUNCATE ballots")
            .execute(pool)
            .await
            .expect_err("truncate")
            .to_string();
        assert!(err.contains("append-only"), "{err}");
        the_service_role_cannot_touch_the_chain(&h).await;
    }
    // Nothing changed: the first ballot stands (the service role added one).
    let ballots = h.ballots().await;
    let added = usize::from(backend == Backend::Postgres);
    assert_eq!(ballots.len(), 1 + added);
    assert_eq!(ballots[0].ballot.unit, "binh-an");
    h.finish().await;
}

/// On PostgreSQL the service can run as a role that may only add and read
/// ballots (README, "A role for the service"): even with the triggers'
/// owner's tricks it can neither change the chain nor turn the triggers off.
async fn the_service_role_cannot_touch_the_chain(h: &Harness) {
    let pool = h.raw_pool().await;
    let role = format!("khaosat_service_{}", khaosat::hex::random::<4>());
    let db = h.db.url.rsplit('/').next().unwrap().to_string();
    for sql in SERVICE_ROLE
        .replace("khaosat_service", &role)
        .replace("DATABASE khaosat", &format!("DATABASE {db}"))
        .split(';')
    {
        if !sql.trim().is_empty() {
            sqlx::raw_sql(sql)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
    let url = h.db.url.replacen("postgres@", &format!("{role}@"), 1);
    let service = crate::helpers::raw_pool(&url).await;
    for sql in [
        "UPDATE ballots SET unit_id = 'binh-chanh'",
        "DELETE FROM ballots",
        "ALTER TABLE ballots DISABLE TRIGGER USER",
        "TRUNCATE ballots",
        "DROP TRIGGER chain_in_order ON ballots",
    ] {
        let err = sqlx::query(sql)
            .execute(&service)
            .await
            .expect_err(sql)
            .to_string();
        assert!(
            err.contains("permission denied") || err.contains("must be owner"),
            "{sql}: {err}"
        );
    }
    // And as that role the whole service works: a ballot, mixed into the chain.
    let mut settings = h.settings();
    settings.database_url = Some(khaosat::settings::DatabaseUrl(url.clone()));
    let (survey, store) = khaosat::startup::open_survey(&settings).await.unwrap();
    let token = crate::helpers::insert_token(
        &store,
        &h.key,
        "thang-binh-2021",
        "nguoi-dan",
        &["binh-chanh"],
        None,
    )
    .await;
    let mut chat = Chat::new("telegram", "as-the-role");
    chat.start(&survey, Some(token.as_str())).await;
    for _ in 0..10 {
        chat.say(&survey, "4").await;
    }
    for typed in ["bỏ qua", "5", "bỏ qua", "gửi"] {
        chat.say(&survey, typed).await;
    }
    assert!(chat.text().contains("Mã biên nhận"), "{}", chat.text());
    assert_eq!(survey.mix(true).await.unwrap(), 1);
    store.close().await;
    let read: i64 = sqlx::query("SELECT COUNT(*) FROM ballots")
        .fetch_one(&service)
        .await
        .unwrap()
        .get(0);
    assert_eq!(read, 2);
    service.close().await;
    sqlx::raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// The grants of the service's role, as the README gives them.
const SERVICE_ROLE: &str = "
CREATE ROLE khaosat_service LOGIN;
GRANT CONNECT ON DATABASE khaosat TO khaosat_service;
GRANT USAGE ON SCHEMA public TO khaosat_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO khaosat_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO khaosat_service;
REVOKE UPDATE, DELETE, TRUNCATE ON ballots, ballots_v1, dialogue_versions FROM khaosat_service;
";

async fn no_ballot_column_can_join_to_tokens_or_users(backend: Backend) {
    let h = Harness::shipped(backend).await;
    // Some real traffic first: a finished ballot, a session in progress.
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut done = Chat::new("telegram", "555000111");
    to_review(&h, &mut done, token.as_str()).await;
    done.say(&h.survey, "gửi").await;
    let other = h.token("can-bo", &["binh-an", "binh-chanh"]).await;
    let mut busy = Chat::new("zalo", "8412345678");
    busy.start(&h.survey, Some(other.as_str())).await;
    busy.say(&h.survey, "4").await;

    let pool = &h.raw_pool().await;
    let columns: Vec<String> = match backend {
        Backend::Sqlite => sqlx::query("SELECT name FROM pragma_table_info('ballots') ORDER BY cid"),
        Backend::Postgres => sqlx::query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'ballots' ORDER BY ordinal_position",
        ),
    }
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<String, _>(0).unwrap())
    .collect();
    assert_eq!(
        columns,
        [
            "seq",
            "campaign",
            "unit_id",
            "group_id",
            "dialogue_id",
            "dialogue_version",
            "batch",
            "batch_date",
            "receipt",
            "salt",
            "answers",
            "prev_hash",
            "hash"
        ],
        "a new ballot column needs an anonymity review"
    );
    let foreign_keys: i64 = match backend {
        Backend::Sqlite => sqlx::query(
            "SELECT COUNT(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) WHERE m.type = 'table'",
        ),
        Backend::Postgres => sqlx::query(
            "SELECT COUNT(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'",
        ),
    }
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(foreign_keys, 0);

    // No value in a ballot equals a token hash, credential, respondent key or user id.
    let mut identities: HashSet<String> = HashSet::new();
    for sql in [
        "SELECT hash FROM tokens",
        "SELECT credential FROM spends",
        "SELECT respondent FROM sessions",
        "SELECT credential FROM sessions",
    ] {
        for r in sqlx::query(sql).fetch_all(pool).await.unwrap() {
            identities.insert(r.try_get(0).unwrap());
        }
    }
    identities.extend([
        "555000111".to_string(),
        "8412345678".to_string(),
        token.as_str().to_string(),
    ]);
    assert!(identities.len() >= 5);
    for b in h.ballots().await {
        let dump = format!(
            "{:?} {} {} {}",
            b.ballot, b.prev_hash, b.hash, b.ballot.receipt
        );
        for id in &identities {
            assert!(
                !dump.contains(id.as_str()),
                "ballot {} contains an identity",
                b.ballot.seq
            );
        }
    }
    // Sessions keep a keyed hash, never the channel's user id.
    let states: Vec<String> = sqlx::query("SELECT respondent || ' ' || state FROM sessions")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(states.len(), 1);
    // Processed message ids (which may embed a user id) are kept as keyed hashes.
    let inbound: Vec<String> = sqlx::query("SELECT message_id FROM inbound")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert!(!inbound.is_empty());
    for id in &inbound {
        assert!(
            !id.contains("555000111") && !id.contains("8412345678"),
            "{id}"
        );
    }
    assert!(!states[0].contains("8412345678"));
    h.finish().await;
}

async fn a_token_is_spent_exactly_once_under_a_race(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    const RACERS: usize = 50;
    let mut chats = Vec::new();
    for i in 0..RACERS {
        let mut c = Chat::new("telegram", &format!("racer-{i}"));
        to_review(&h, &mut c, token.as_str()).await;
        chats.push(c);
    }
    let confirms = chats.iter_mut().map(|c| {
        let data = c.button_data("Gửi phiếu");
        let survey = &h.survey;
        async move {
            c.send(survey, khaosat::survey::Content::button(&data))
                .await
        }
    });
    let results = futures_util::future::join_all(confirms).await;
    let stored = results
        .iter()
        .filter(|r| r.replies.iter().any(|m| m.text.contains("Mã biên nhận")))
        .count();
    let refused = results
        .iter()
        .filter(|r| r.replies.iter().any(|m| m.text.contains("đã được dùng")))
        .count();
    assert_eq!((stored, refused), (1, RACERS - 1));
    assert_eq!(h.ballots().await.len(), 1);
    h.finish().await;
}

async fn quotas_stay_exact_under_concurrent_completions(backend: Backend) {
    let h = Harness::small(backend).await;
    const LEADERS: usize = 10;
    let mut chats = Vec::new();
    for i in 0..LEADERS {
        let t = h.token("can-bo", &["xa-a"]).await;
        let mut c = Chat::new("telegram", &format!("leader-{i}"));
        c.start(&h.survey, Some(t.as_str())).await;
        c.say(&h.survey, "nhiều").await;
        c.say(&h.survey, "ít").await;
        assert!(c.text().contains("xem lại"), "{}", c.text());
        chats.push(c);
    }
    let confirms = chats.iter_mut().map(|c| {
        let data = c.button_data("Gửi phiếu");
        let survey = &h.survey;
        async move {
            c.send(survey, khaosat::survey::Content::button(&data))
                .await
        }
    });
    let results = futures_util::future::join_all(confirms).await;
    let said = |needle: &str| {
        results
            .iter()
            .filter(|r| r.replies.iter().any(|m| m.text.contains(needle)))
            .count()
    };
    // The quota for officials is 2 per commune.
    assert_eq!(
        (said("Mã biên nhận"), said("đã nhận đủ số phiếu")),
        (2, LEADERS - 2)
    );
    assert_eq!(
        h.store().ballot_counts("small").await.unwrap(),
        vec![("xa-a".to_string(), "can-bo".to_string(), 2)]
    );
    h.finish().await;
}

async fn ballots_form_an_unbroken_hash_chain(backend: Backend) {
    let h = Harness::shipped(backend).await;
    submit_citizen_ballots(&h, &["binh-an", "binh-chanh", "ha-lam", "noi-vu"]).await;
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 4);
    let mut prev = GENESIS.to_string();
    for (i, b) in ballots.iter().enumerate() {
        assert_eq!(b.ballot.seq, i as i64 + 1);
        assert_eq!(b.prev_hash, prev);
        assert_eq!(b.ballot.chain_hash(&prev), b.hash);
        assert_eq!(
            b.ballot.receipt.len(),
            11,
            "a receipt code {}",
            b.ballot.receipt
        );
        prev = b.hash.clone();
    }
    h.finish().await;
}

/// Asserts that `verify` named ballot `seq`, for a reason that says `why`.
fn broken_at(verdict: khaosat::verify::Verdict, seq: i64, why: &str) {
    match verdict {
        khaosat::verify::Verdict::Broken { seq: at, problem } => {
            assert_eq!(at, seq, "{problem}");
            assert!(problem.contains(why), "{problem}");
        }
        v => panic!("ballot {seq} went unnoticed ({why}): {v:?}"),
    }
}

async fn verify_finds_the_first_altered_ballot(backend: Backend) {
    use khaosat::verify::{Verdict, verify};
    let h = Harness::shipped(backend).await;
    submit_citizen_ballots(&h, &["binh-an", "binh-chanh", "ha-lam", "noi-vu"]).await;
    let ballots = h.ballots().await;
    let Verdict::Intact { ballots: n, head } = verify(&ballots) else {
        panic!("a fresh chain is intact")
    };
    assert_eq!((n, head.clone()), (4, ballots[3].hash.clone()));

    // Someone with access to the database file goes around the triggers.
    let pool = &h.raw_pool().await;
    let bypass = match backend {
        Backend::Sqlite => {
            "DROP TRIGGER chain_no_update; DROP TRIGGER chain_no_delete; DROP TRIGGER chain_in_order;"
        }
        Backend::Postgres => "ALTER TABLE ballots DISABLE TRIGGER USER;",
    };
    sqlx::raw_sql(bypass).execute(pool).await.unwrap();
    let stored = |h: &Harness| {
        let store = h.store().clone();
        async move { verify(&store.ballots().await.unwrap()) }
    };

    // 1. A ballot taken out of the middle: named as missing.
    sqlx::query("DELETE FROM ballots WHERE seq = 3")
        .execute(pool)
        .await
        .unwrap();
    broken_at(stored(&h).await, 3, "bị mất");
    // Put back as it was, the chain is whole again.
    let b3 = &ballots[2];
    sqlx::query(
        "INSERT INTO ballots (seq, campaign, unit_id, group_id, dialogue_id, dialogue_version, \
         batch, batch_date, receipt, salt, answers, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(b3.ballot.seq)
    .bind(&b3.ballot.campaign)
    .bind(&b3.ballot.unit)
    .bind(&b3.ballot.group)
    .bind(&b3.ballot.dialogue_id)
    .bind(&b3.ballot.dialogue_version)
    .bind(b3.ballot.batch)
    .bind(&b3.ballot.batch_date)
    .bind(&b3.ballot.receipt)
    .bind(&b3.ballot.salt)
    .bind(b3.ballot.answers_json())
    .bind(&b3.prev_hash)
    .bind(&b3.hash)
    .execute(pool)
    .await
    .unwrap();
    assert!(matches!(
        stored(&h).await,
        Verdict::Intact { ballots: 4, .. }
    ));

    // 2. An answer changed: that ballot no longer matches its hash.
    sqlx::query("UPDATE ballots SET answers = REPLACE(answers, '\"choice\":4', '\"choice\":5') WHERE seq = 2")
        .execute(pool)
        .await
        .unwrap();
    broken_at(stored(&h).await, 2, "bị sửa");
    // 3. Covered up — its hash recomputed — it breaks the next link.
    let mut b2 = h.ballots().await[1].clone();
    b2.hash = b2.ballot.chain_hash(&b2.prev_hash);
    sqlx::query("UPDATE ballots SET hash = $1 WHERE seq = 2")
        .bind(&b2.hash)
        .execute(pool)
        .await
        .unwrap();
    broken_at(stored(&h).await, 3, "liên kết");
    // 4. The last ballot deleted leaves a shorter chain that verifies: only
    // the published head (4 ballots, `head`) shows it.
    sqlx::query("DELETE FROM ballots WHERE seq >= 2")
        .execute(pool)
        .await
        .unwrap();
    match stored(&h).await {
        Verdict::Intact {
            ballots: n,
            head: h1,
        } => {
            assert_eq!(n, 1);
            assert_ne!(h1, head, "a different head than the one published");
        }
        v => panic!("{v:?}"),
    }
    pool.close().await;
    h.finish().await;
}

/// A recorded questionnaire is what its ballots were answered on: the
/// database refuses to change or remove it, and one changed behind its back
/// no longer matches its version hash and is refused when read back.
async fn recorded_dialogue_versions_are_append_only_and_checked(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let pool = &h.raw_pool().await;
    refused_as_append_only(
        pool,
        &[
            "UPDATE dialogue_versions SET source = source || ' '",
            "DELETE FROM dialogue_versions",
        ],
    )
    .await;
    let row = sqlx::query(
        "SELECT dialogue_id, version, source FROM dialogue_versions WHERE dialogue_id = 'nguoi-dan'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let (id, version, source): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert!(khaosat::dialogue::compile_stored(&id, &version, source.clone()).is_ok());
    let altered = source.replacen("thái độ giao tiếp", "thái độ", 1);
    assert_ne!(altered, source);
    let err = format!(
        "{:#}",
        khaosat::dialogue::compile_stored(&id, &version, altered)
            .expect_err("an altered questionnaire is refused")
    );
    assert!(err.contains("does not match its source"), "{err}");
    pool.close().await;
    h.finish().await;
}

/// Two ballots that draw the same receipt code: the second draws again,
/// and both are stored, each with its own.
async fn a_receipt_clash_draws_again(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let draws = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = draws.clone();
    // The first two draws are the same code.
    let mut settings = h.settings();
    settings.receipts = khaosat::survey::Receipts::from_fn(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n < 2 {
            "AAAAA-AAAAA".to_string()
        } else {
            khaosat::ballot::new_receipt(&mut rand::rng())
        }
    });
    h.serve_with_settings(settings).await;
    for (i, unit) in ["binh-an", "binh-chanh"].iter().enumerate() {
        let token = h.token("nguoi-dan", &[unit]).await;
        let mut chat = Chat::new("telegram", &format!("clash-{i}"));
        to_review(&h, &mut chat, token.as_str()).await;
        chat.say(&h.survey, "gửi").await;
        assert!(chat.text().contains("Mã biên nhận"), "{}", chat.text());
    }
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 2);
    assert_ne!(ballots[0].ballot.receipt, ballots[1].ballot.receipt);
    assert!(
        draws.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "a second draw"
    );
    h.finish().await;
}

/// A ballot in the box that cannot be opened (sealed under another key,
/// damaged) is logged and left there; it holds up no other ballot.
async fn an_unreadable_ballot_in_the_box_holds_up_no_other(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let pool = &h.raw_pool().await;
    sqlx::query(
        "INSERT INTO ballot_box (receipt_tag, campaign, unit_id, group_id, sealed) \
         VALUES ('tag-of-a-lost-key', 'thang-binh-2021', 'binh-an', 'nguoi-dan', $1)",
    )
    .bind(khaosat::key::Key::generate().seal(b"{}"))
    .execute(pool)
    .await
    .unwrap();
    submit_citizen_ballots(&h, &["binh-an", "binh-chanh"]).await;
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 2, "both readable ballots reached the chain");
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM ballot_box")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "the unreadable one stays in the box");
    pool.close().await;
    h.finish().await;
}

/// A step whose future is dropped halfway — a web client or Zalo gone
/// before the answer — leaves nothing: the batch it was in is rolled back
/// before the next step uses the lane, which finds its writes undone.
async fn a_step_dropped_halfway_leaves_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let writer = h.survey.writer();
    let (began, wrote) = tokio::sync::oneshot::channel::<()>();
    let mut began = Some(began);
    let halfway = writer.step("someone", async |tx| {
        tx.claim_inbound("web", "message-1", 0).await?;
        if let Some(began) = began.take() {
            let _ = began.send(());
        }
        std::future::pending::<()>().await;
        Ok(())
    });
    tokio::select! {
        _ = halfway => panic!("the step never ends"),
        _ = wrote => {}
    }
    // The same message id, in the next step: not recorded by the dropped one.
    let first = writer
        .step("someone", async |tx| {
            tx.claim_inbound("web", "message-1", 0).await
        })
        .await
        .unwrap();
    assert!(first, "the dropped step's write was kept");
    let again = writer
        .step("someone", async |tx| {
            tx.claim_inbound("web", "message-1", 0).await
        })
        .await
        .unwrap();
    assert!(!again, "the second step's write was committed");
    h.finish().await;
}

/// A step that fails takes its batch down: the step already in the batch
/// hears that its batch failed (its caller runs it again) and neither
/// step's write is kept; the next step commits as usual.
async fn a_failed_step_leaves_nothing_of_its_batch(backend: Backend) {
    use khaosat::store::BatchFailed;
    let h = Harness::shipped(backend).await;
    let writer = h.survey.writer();
    let (queued, b_queued) = tokio::sync::oneshot::channel::<()>();
    // A waits, holding the batch, until B is waiting for it: B is then
    // the next step of A's batch (the lane's lock is first come, first
    // served, and the committer asks for it only after A).
    let a = writer.step("someone", async |tx| {
        tx.claim_inbound("web", "message-a", 0).await?;
        let _ = b_queued.await;
        Ok(())
    });
    let b = async {
        let _ = queued.send(());
        writer
            .step("someone", async |tx| {
                tx.claim_inbound("web", "message-b", 0).await?;
                Err::<(), _>(anyhow::anyhow!("this step fails after writing"))
            })
            .await
    };
    let (a, b) = tokio::join!(a, b);
    let a = a.expect_err("A's batch was rolled back");
    assert!(a.is::<BatchFailed>(), "A may be run again: {a:#}");
    let b = b.expect_err("B failed");
    assert!(!b.is::<BatchFailed>(), "B's own error comes back: {b:#}");
    for id in ["message-a", "message-b"] {
        let fresh = writer
            .step("someone", async |tx| tx.claim_inbound("web", id, 0).await)
            .await
            .unwrap();
        assert!(fresh, "{id} was kept from the failed batch");
    }
    let again = writer
        .step("someone", async |tx| {
            tx.claim_inbound("web", "message-a", 0).await
        })
        .await
        .unwrap();
    assert!(!again, "the step after the failure was committed");
    h.finish().await;
}

/// Claiming a message loads its sender's conversation as `load_session`
/// would; a message claimed before loads nothing.
async fn a_claim_loads_the_conversation_of_a_new_message_only(backend: Backend) {
    use khaosat::store::{Claim, SessionSave, StoredSession};
    let h = Harness::shipped(backend).await;
    let writer = h.survey.writer();
    let claim = |id: &'static str, who: &'static str| {
        writer.step(who, async move |tx| {
            tx.claim_and_load("web", id, 0, who).await
        })
    };
    assert_eq!(claim("m-1", "alice").await.unwrap(), Claim::New(None));
    let session = StoredSession {
        credential: "credential".into(),
        group: "nguoi-dan".into(),
        state: "sealed state".into(),
    };
    let save = SessionSave {
        respondent: "alice".into(),
        session: session.clone(),
        reach: None,
        now: 0,
    };
    writer
        .step("alice", async |tx| tx.save_session(&save).await)
        .await
        .unwrap();
    assert_eq!(
        claim("m-2", "alice").await.unwrap(),
        Claim::New(Some(session.clone()))
    );
    assert_eq!(claim("m-3", "bob").await.unwrap(), Claim::New(None));
    assert_eq!(claim("m-2", "alice").await.unwrap(), Claim::Before);
    h.finish().await;
}

/// The inbox's writer keeps a burst of events in a few statements: each
/// event comes back under its own row id, in the order given (a mix-up
/// would hand one Zalo user's answer to another's conversation), the ids
/// rise in that order, and the rows handled meanwhile are gone.
async fn a_burst_of_events_keeps_each_under_its_own_id(backend: Backend) {
    use khaosat::store::{INBOX_BATCH, Lease, NewEvent, Queue};
    let h = Harness::shipped(backend).await;
    let store = h.store();
    let lease = Lease {
        owner: "here",
        until: 100,
    };
    let event = |i: usize| NewEvent {
        chat: format!("chat-{}", i % 7),
        sealed: format!("sealed-{i}"),
    };
    let first: Vec<NewEvent> = (0..10).map(event).collect();
    let handled = store
        .write_inbox("zalo", &first, &[], 1, lease)
        .await
        .unwrap();
    // More than one INSERT's worth, with the first ten handled meanwhile.
    let burst: Vec<NewEvent> = (10..10 + 2 * INBOX_BATCH + 3).map(event).collect();
    let ids = store
        .write_inbox("zalo", &burst, &handled, 1, lease)
        .await
        .unwrap();
    assert_eq!(ids.len(), burst.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
    let taken = store
        .claim_queued(Queue::Inbox, "zalo", lease, 1_000, true, 100_000)
        .await
        .unwrap();
    assert_eq!(taken.len(), burst.len(), "the handled rows are still there");
    for (row, (id, sent)) in taken.iter().zip(ids.iter().zip(&burst)) {
        assert_eq!(
            (row.id, &row.chat, &row.sealed),
            (*id, &sent.chat, &sent.sealed)
        );
    }
    h.finish().await;
}

/// The write-ahead log is checkpointed while the service writes, off the
/// write path: after a thousand commits their rows are in the database
/// file itself, long before the log is long enough for a commit to
/// checkpoint it (10,000 pages); and after a thousand of the inbox's
/// writes, which commit one by one. (Without, the file would not grow at all
/// until then, and a checkpoint would hold up every step while it copies.)
async fn the_log_is_checkpointed_as_commits_go_on(backend: Backend) {
    use khaosat::store::Store;
    let db = crate::helpers::TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    let file = db.url.trim_start_matches("sqlite://").to_string();
    let pages = || std::fs::metadata(&file).unwrap().len() / 4_096;
    let before = pages();
    for i in 0..1_000 {
        let mut tx = store.begin().await.unwrap();
        assert!(tx.claim_inbound("web", &format!("m-{i}"), i).await.unwrap());
        tx.commit().await.unwrap();
    }
    let grown = pages() - before;
    assert!(
        grown >= 10,
        "the database file grew by {grown} pages over 1,000 commits: nothing checkpointed the log"
    );
    // The inbox's writes commit statement by statement, not in a batch.
    let before = pages();
    let lease = khaosat::store::Lease {
        owner: "here",
        until: 100,
    };
    for i in 0..1_000 {
        let event = khaosat::store::NewEvent {
            chat: format!("chat-{i}"),
            sealed: format!("sealed-{i}"),
        };
        store
            .write_inbox("zalo", &[event], &[], i, lease)
            .await
            .unwrap();
    }
    let grown = pages() - before;
    assert!(
        grown >= 10,
        "the database file grew by {grown} pages over 1,000 inbox writes: nothing checkpointed the log"
    );
    store.close().await;
}

/// Emptying the log (after the mixer's batch: no page of the box as it
/// was may stay in it) works even while the log's own checkpoint runs.
async fn the_log_is_emptied_whenever_asked(backend: Backend) {
    use khaosat::store::Store;
    let db = crate::helpers::TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    let log = db.url.trim_start_matches("sqlite://").to_string() + "-wal";
    // The first commit, and every 32nd after it, starts the log's own
    // checkpoint: here the last of each round, so with rows of many pages
    // it is still copying them when the log is emptied.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_inbound("web", "first", 0).await.unwrap());
    tx.commit().await.unwrap();
    for round in 0..50 {
        for i in 0..32 {
            let mut tx = store.begin().await.unwrap();
            let id = format!("m-{round}-{i}-{}", "x".repeat(64 * 1024));
            assert!(tx.claim_inbound("web", &id, i).await.unwrap());
            tx.commit().await.unwrap();
        }
        store.checkpoint().await.unwrap();
        let left = std::fs::metadata(&log).map_or(0, |m| m.len());
        assert_eq!(left, 0, "round {round}: the log still holds {left} bytes");
    }
    store.close().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        both verify_finds_the_first_altered_ballot,
        both ballots_refuse_update_and_delete,
        both no_ballot_column_can_join_to_tokens_or_users,
        both a_token_is_spent_exactly_once_under_a_race,
        both quotas_stay_exact_under_concurrent_completions,
        both ballots_form_an_unbroken_hash_chain,
        both recorded_dialogue_versions_are_append_only_and_checked,
        both a_receipt_clash_draws_again,
        both an_unreadable_ballot_in_the_box_holds_up_no_other,
        both a_step_dropped_halfway_leaves_nothing,
        both a_failed_step_leaves_nothing_of_its_batch,
        both a_claim_loads_the_conversation_of_a_new_message_only,
        both a_burst_of_events_keeps_each_under_its_own_id,
        sqlite the_log_is_checkpointed_as_commits_go_on,
        sqlite the_log_is_emptied_whenever_asked,
    ]
}
