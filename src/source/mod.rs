//! Where flows come from: a Hubble server over gRPC, or a capture of jsonpb
//! lines. Both yield the same stream of `GetFlowsResponse`s, so the printer
//! cannot tell them apart.

mod file;
mod follow;
mod grpc;
mod jsonpb;
mod portforward;
mod scan;
pub mod version;
mod wire;

pub use wire::Encoded;

pub use file::{FileSource, Unknown, decode_line};
pub use follow::{
    AgentEvents, Backoff, DebugEvents, Dial, Feed, Flows, FlowsCall, FlowsResponse, Follow,
    Printed, Resume,
};
pub use grpc::{ConnectOptions, Connection, EventStream, OBSERVER_SERVICE, TlsOptions, connect};
pub use jsonpb::{decode as decode_line_lean, decode_whole as decode_line_whole, recycle};
pub use portforward::{PortForwardError, PortForwardOptions, RELAY_SERVICE, Tunnel};

use std::pin::Pin;

use tokio_stream::Stream;

use crate::proto::observer::GetFlowsResponse;

/// One response, or what went wrong instead of it.
pub type Item = Result<GetFlowsResponse, SourceError>;

/// The responses of one request, in the order they should be printed.
pub type ResponseStream = Pin<Box<dyn Stream<Item = Item> + Send>>;

/// What can go wrong while reading responses.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// One input line could not be decoded. It is skipped and reading goes
    /// on, as Hubble does.
    #[error("line {line}: {reason}; skipping it")]
    Malformed { line: u64, reason: String },

    /// A line had fields this version does not know. They are dropped and
    /// the flow is kept; reported once per input, as Hubble does.
    #[error(
        "line {line}: unknown field {field:?} dropped (the capture is from a newer Hubble API); further unknown fields and values are dropped silently"
    )]
    UnknownField { line: u64, field: String },

    /// A line had an enum value name this version does not know. It reads
    /// as 0, the enum's unknown value, and the flow is kept; reported once
    /// per input (with unknown fields), as Hubble does.
    #[error(
        "line {line}: unknown {enum_name} value {value:?} read as unknown (the capture is from a newer Hubble API); further unknown fields and values are dropped silently"
    )]
    UnknownEnumValue {
        line: u64,
        enum_name: &'static str,
        value: String,
    },

    /// The filters of the request are not valid.
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),

    /// `--last N` on a file keeps N responses in memory; Hubble bounds it.
    #[error("--last must be <= 1_000_000, got {0}")]
    LastTooLarge(u64),

    /// The input could not be read at all.
    #[error("failed to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// No connection could be made to the server.
    #[error("failed to connect to '{address}': {reason}\n{hint}")]
    Connect {
        address: String,
        reason: String,
        /// What to check, which depends on how the server was dialed.
        hint: String,
    },

    /// The server answered, but not as a gRPC server over HTTP/2 does:
    /// it speaks TLS, HTTP/1, or closed the connection without a word.
    #[error("failed to connect to '{address}': {reason}")]
    Protocol { address: String, reason: String },

    /// `-P`: the relay could not be found or forwarded.
    #[error(transparent)]
    PortForward(#[from] PortForwardError),

    /// The connection settings cannot be used: a CA or key file that does
    /// not load, credentials without TLS.
    #[error("{0}")]
    Settings(String),

    /// A TLS connection to the server could not be set up.
    #[error("TLS connection to '{address}' failed: {reason}")]
    Tls { address: String, reason: String },

    /// The server refused the basic auth credentials, or wants some.
    #[error(
        "{}\nThe server rejected the credentials: check --basic-auth-username and --basic-auth-password \
         (or HUBBLE_BASIC_AUTH_USERNAME and HUBBLE_BASIC_AUTH_PASSWORD)",
        grpc_message(.0)
    )]
    Unauthenticated(tonic::Status),

    /// The server ended the stream with an error. The status is not
    /// given as the source: its message is all of it that Hubble shows.
    #[error("{}", grpc_message(.0))]
    Status(tonic::Status),

    /// Not an error but a notice, yielded in the stream so that it shows
    /// between the responses it came between: a followed stream was lost
    /// and is being resumed.
    #[error("connection to {address} lost ({cause}); reconnecting")]
    Reconnecting { address: String, cause: String },

    /// Not an error but a notice: a lost stream is back, resumed at the
    /// time of the last response printed (`resumed`: "resumed at TIME").
    #[error("reconnected after {:.1} s; {resumed}", after.as_secs_f64())]
    Reconnected {
        after: std::time::Duration,
        resumed: String,
    },
}

impl From<tonic::Status> for SourceError {
    fn from(status: tonic::Status) -> Self {
        SourceError::Status(status)
    }
}

impl SourceError {
    /// Whether reading can go on after this error.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            SourceError::Malformed { .. }
                | SourceError::UnknownField { .. }
                | SourceError::UnknownEnumValue { .. }
        )
    }

    /// Whether this is a notice about the connection rather than an error.
    pub fn is_notice(&self) -> bool {
        matches!(
            self,
            SourceError::Reconnecting { .. } | SourceError::Reconnected { .. }
        )
    }
}

/// Go's gRPC client prints `rpc error: code = X desc = Y`; Hubble shows that
/// text as is, so users' grep patterns keep working.
fn grpc_message(status: &tonic::Status) -> String {
    format!(
        "rpc error: code = {} desc = {}",
        go_code_name(status.code()),
        status.message()
    )
}

fn go_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}
