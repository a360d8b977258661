//! `hubl top`: the groups of the aggregation engine, live, full screen.
//!
//! As in tokio-console, the state (`state`: groups, sort, selection, what
//! keys changed) is kept apart from the view (`view`: drawing a frame from
//! the state), so that frames can be tested on ratatui's `TestBackend`
//! without a terminal. `cmd::top` joins them to the stream and the keys.

mod state;
mod view;

pub use state::{Action, Header, Input, Row, State, describe_filters};
pub use view::render;
