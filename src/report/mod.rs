//! Reporters: each renders the one [`model::Report`] to any `W: Write`.

pub mod cloudwatch;
pub mod explain;
pub mod human;
pub mod json;
pub mod model;
pub mod phases;
pub mod prometheus;
pub mod sink;
pub mod watch;
pub mod watch_render;
