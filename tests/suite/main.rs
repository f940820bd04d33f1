//! One integration test binary (one link step): the modules below.

mod conversation;
mod helpers;
