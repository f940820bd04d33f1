//! Operations endpoints: `/healthz` and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::store::Store;
use crate::survey::Survey;

/// What the operations endpoints read.
#[derive(Clone)]
pub struct Ops {
    pub survey: Arc<Survey>,
    pub store: Store,
}

/// `/healthz` and `/metrics`.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// 200 when the database answers, 503 otherwise.
async fn health(State(ops): State<Ops>) -> impl IntoResponse {
    let ok = ops.store.ping().await.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": if ok { "ok" } else { "unreachable" },
        "survey_open": ops.survey.is_open(),
    });
    (status, axum::Json(body))
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ops.survey.metrics().render(),
    )
}
