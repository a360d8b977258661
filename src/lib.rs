//! hubl: a fast re-implementation of Cilium's `hubble` CLI.
//!
//! Data flows one way: [`cli`] (what was typed) → [`filter`] (the
//! `GetFlowsRequest` Hubble would send, and evaluating its filters locally)
//! → [`source`] (a stream of responses, from a relay or a capture file) →
//! [`printer`] (Hubble's output formats) → a buffered writer, joined per
//! subcommand in [`cmd`].

pub mod aggregate;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod duration;
pub mod filter;
pub mod log;
pub mod map;
pub mod metrics;
pub mod printer;
pub mod proto;
pub mod serve;
pub mod source;
pub mod top;

/// Helpers shared by unit tests.
#[cfg(test)]
mod testing {
    /// Repeatable pseudo-random numbers below a bound (xorshift).
    pub fn numbers(mut state: u64) -> impl FnMut(u64) -> u64 {
        move |bound| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        }
    }
}
