//! The front: a runtime of its own, on a thread of its own, that accepts
//! HTTP connections and answers webhook calls. Conversation steps run on
//! the main runtime behind it, so a Zalo event is acknowledged as soon as
//! it is durable, however busy the steps are (Zalo wants its 200 within
//! 2 s and gives up on a webhook that keeps it waiting).

use std::cell::Cell;
use std::future::Future;

use anyhow::{Context, Result};
use tokio::runtime::{Builder, Handle, Runtime};

thread_local! {
    static FRONT: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is the front's (where no step may run).
pub fn on_front() -> bool {
    FRONT.with(Cell::get)
}

/// The front runtime; stopped (without waiting) when dropped.
pub struct Front {
    runtime: Option<Runtime>,
}

impl Front {
    /// Starts the front runtime: one worker thread (acknowledging is
    /// little work, and the steps get the other cores).
    pub fn start() -> Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("khaosat-front")
            .on_thread_start(|| FRONT.with(|f| f.set(true)))
            .enable_all()
            .build()
            .context("starting the HTTP runtime")?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    pub fn handle(&self) -> &Handle {
        self.runtime
            .as_ref()
            .expect("the front runtime runs until dropped")
            .handle()
    }

    /// Runs `work` on the front runtime and waits for it from any runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        self.handle()
            .spawn(work)
            .await
            .context("a task of the HTTP runtime failed")
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // Dropping a runtime inside another one's task would block it; the
        // front's tasks are done with by now (or are abandoned with it).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
