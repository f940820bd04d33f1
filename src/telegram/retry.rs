//! Bot API calls that survive rate limits: a 429 is retried after the
//! `retry_after` Telegram asks for, a network error after a short back-off.

use std::future::Future;
use std::time::Duration;

use teloxide::RequestError;

const ATTEMPTS: u32 = 8;

/// Runs `call` until it succeeds, is refused for good, or attempts run out.
pub async fn send<T, F, Fut>(mut call: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(RequestError::RetryAfter(wait)) if attempt < ATTEMPTS => {
                tracing::warn!(seconds = wait.seconds(), "Telegram rate limit: waiting");
                tokio::time::sleep(wait.duration()).await;
            }
            Err(RequestError::Network(e)) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "Telegram unreachable: retrying");
                tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
            }
            other => return other,
        }
    }
}
