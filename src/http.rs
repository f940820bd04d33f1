//! The HTTP server's application: the routers of the channels and of the
//! operations endpoints, composed into one, with the limits every request
//! shares. It knows no channel: the composition root hands it their routers.

use axum::Router;
use axum::extract::DefaultBodyLimit;

/// Largest request body accepted (a chat message or webhook event is far smaller).
pub const BODY_LIMIT: usize = 64 * 1024;

/// One application of the given routers.
pub fn app(routers: impl IntoIterator<Item = Router>) -> Router {
    routers
        .into_iter()
        .fold(Router::new(), Router::merge)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}
