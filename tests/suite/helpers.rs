//! Shared test harness: the real survey service on a real database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use khaosat::campaign::{self, Campaign};
use khaosat::engine::{Action, Reply};
use khaosat::store::{Store, TokenRecord};
use khaosat::survey::{Clock, Content, Handled, Message, Options, Survey};
use khaosat::token::Token;
use sqlx::Connection;
use tempfile::TempDir;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shipped_campaign_dir() -> PathBuf {
    manifest_dir().join("dialogues/thang-binh-2021")
}

pub fn small_campaign_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/campaign-small")
}

pub fn load(dir: &Path) -> Campaign {
    campaign::load(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// A moment given in Vietnam time, `YYYY-MM-DDTHH:MM:SS`.
pub fn vn(local: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").unwrap();
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&n)
        .unwrap()
        .with_timezone(&Utc)
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
    pg_name: Option<String>,
}

const PG_ADMIN_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_admin_url() -> String {
    std::env::var("KHAOSAT_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_ADMIN_DEFAULT.to_string())
}

/// PostgreSQL is required in CI (`CI` set) or when KHAOSAT_TEST_POSTGRES_URL is set.
fn pg_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("KHAOSAT_TEST_POSTGRES_URL").is_some()
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is not reachable and not
    /// required (a developer machine without it). In CI a missing server fails.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) if !pg_required() => {
                        eprintln!(
                            "skipping a PostgreSQL test: {admin} is unreachable ({e}); set CI=1 to make this fail"
                        );
                        return None;
                    }
                    Err(e) => panic!(
                        "PostgreSQL is required for this run but {admin} is unreachable: {e}"
                    ),
                };
                let name = format!(
                    "khaosat_t_{}",
                    khaosat::token::hex(&rand::random::<[u8; 6]>())
                );
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite's folder goes with `self`).
    pub async fn drop_db(self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// Declares each listed `async fn name(backend: Backend)` as two tests,
/// `sqlite::name` and `postgres::name`: one suite, both stores.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }) *
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Backend::Postgres).await }) *
        }
    };
}

/// The survey service on a test database, with a clock the test controls.
pub struct Harness {
    pub db: TestDb,
    pub campaign_dir: PathBuf,
    pub now: Arc<AtomicI64>,
    pub survey: Arc<Survey>,
}

impl Harness {
    /// `None` when the backend is not available (see [`TestDb::new`]).
    pub async fn new(backend: Backend, campaign_dir: PathBuf) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let now = Arc::new(AtomicI64::new(vn("2021-02-01T09:00:00").timestamp()));
        let survey = Arc::new(open(&db.url, &campaign_dir, &now).await);
        Some(Self {
            db,
            campaign_dir,
            now,
            survey,
        })
    }

    pub async fn shipped(backend: Backend) -> Option<Self> {
        Self::new(backend, shipped_campaign_dir()).await
    }

    pub async fn small(backend: Backend) -> Option<Self> {
        Self::new(backend, small_campaign_dir()).await
    }

    /// Stops the service and starts a new one on the same database, as a
    /// process restart would (nothing survives but the database).
    pub async fn restart(&mut self) {
        self.survey.store().close().await;
        self.survey = Arc::new(open(&self.db.url, &self.campaign_dir, &self.now).await);
    }

    pub fn set_time(&self, local: &str) {
        self.now.store(vn(local).timestamp(), Ordering::SeqCst);
    }

    pub fn store(&self) -> &Store {
        self.survey.store()
    }

    /// Issues a token (as `khaosat tokens issue` does) and returns it.
    pub async fn token(&self, group: &str, units: &[&str]) -> Token {
        self.token_expiring(group, units, None).await
    }

    pub async fn token_expiring(
        &self,
        group: &str,
        units: &[&str],
        expires_at: Option<i64>,
    ) -> Token {
        insert_token(
            self.store(),
            &self.survey.campaign().id,
            group,
            units,
            expires_at,
        )
        .await
    }

    /// Serves the web chat on a free loopback port; returns its base URL.
    pub async fn serve_http(&self) -> String {
        serve(khaosat::web::AppState {
            survey: self.survey.clone(),
            secure_cookies: false,
            zalo: None,
            telegram: None,
        })
        .await
    }

    pub async fn finish(self) {
        self.survey.store().close().await;
        self.db.drop_db().await;
    }
}

/// Issues a token (as `khaosat tokens issue` does) and returns it.
pub async fn insert_token(
    store: &Store,
    campaign: &str,
    group: &str,
    units: &[&str],
    expires_at: Option<i64>,
) -> Token {
    let t = Token::generate(&mut rand::rng());
    store
        .insert_tokens(&[TokenRecord {
            hash: t.hash(),
            campaign: campaign.to_string(),
            group: group.to_string(),
            units: units.iter().map(|u| u.to_string()).collect(),
            expires_at,
            batch: "test".into(),
        }])
        .await
        .unwrap();
    t
}

/// Serves the HTTP application on a free loopback port; returns its base URL.
pub async fn serve(state: khaosat::web::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = khaosat::web::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A survey service on the database at `url`, reading time from `now`: what
/// one `khaosat serve` process holds.
pub async fn open(url: &str, campaign_dir: &Path, now: &Arc<AtomicI64>) -> Survey {
    let store = Store::open(url).await.unwrap();
    let now = now.clone();
    let clock =
        Clock::from_fn(move || DateTime::from_timestamp(now.load(Ordering::SeqCst), 0).unwrap());
    Survey::new(
        load(campaign_dir),
        store,
        Options {
            clock,
            trial: false,
        },
    )
    .await
    .unwrap()
}

/// One respondent on one channel, remembering the last replies they saw.
pub struct Chat {
    pub channel: String,
    pub user: String,
    next_id: u64,
    pub last: Vec<Reply>,
}

impl Chat {
    pub fn new(channel: &str, user: &str) -> Self {
        Self {
            channel: channel.into(),
            user: user.into(),
            next_id: 1,
            last: Vec::new(),
        }
    }

    /// Sends content under the next message id.
    pub async fn send(&mut self, survey: &Survey, content: Content) -> Handled {
        // Message ids are unique per channel (like Telegram's update_id).
        let id = format!("{}-{}", self.user, self.next_id);
        self.next_id += 1;
        self.send_with_id(survey, content, Some(id)).await
    }

    pub async fn send_with_id(
        &mut self,
        survey: &Survey,
        content: Content,
        id: Option<String>,
    ) -> Handled {
        let handled = survey
            .handle(Message {
                channel: self.channel.clone(),
                user: self.user.clone(),
                id,
                content,
            })
            .await
            .unwrap();
        if !handled.duplicate {
            self.last = handled.replies.clone();
        }
        handled
    }

    pub async fn start(&mut self, survey: &Survey, payload: Option<&str>) -> Handled {
        self.send(survey, Content::Start(payload.map(str::to_string)))
            .await
    }

    pub async fn say(&mut self, survey: &Survey, text: &str) -> Handled {
        self.send(survey, Content::Text(text.into())).await
    }

    /// Presses the button whose label contains `label` on the latest message
    /// that has buttons.
    pub async fn press(&mut self, survey: &Survey, label: &str) -> Handled {
        let data = self.button_data(label);
        self.send(survey, Content::Button(data)).await
    }

    /// The callback data of a button on the latest message with buttons.
    pub fn button_data(&self, label: &str) -> String {
        let reply = self
            .last
            .iter()
            .rev()
            .find(|r| !r.choices.is_empty() || !r.controls.is_empty())
            .unwrap_or_else(|| panic!("no buttons in {:#?}", self.text()));
        let b = reply
            .choices
            .iter()
            .chain(&reply.controls)
            .find(|b| b.label.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {}", self.text()));
        b.action.encode(reply.step)
    }

    /// Everything the latest replies said.
    pub fn text(&self) -> String {
        self.last
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// The button press encoded at the current step for an action.
    pub fn action_data(&self, action: Action) -> String {
        let step = self.last.last().map_or(0, |r| r.step);
        action.encode(step)
    }
}
