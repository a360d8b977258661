//! `hubl observe agent-events` and `hubl observe debug-events`.

use std::{
    io::{self, BufWriter},
    time::Duration,
};

use anyhow::bail;
use tokio_stream::{Stream, StreamExt};

use super::{
    Outcome, Settings,
    observe::{time_format, warn_unknown_time_format},
};
use crate::{
    cli::{EventsArgs, Output, SelectorArgs},
    filter,
    printer::{EventPrinter, Format},
    proto::observer::{GetAgentEventsRequest, GetDebugEventsRequest},
    source::SourceError,
};

/// Hubble prints this many events when not told how many.
const DEFAULT_EVENT_COUNT: u64 = 20;

pub async fn agent(args: &EventsArgs, settings: &Settings) -> anyhow::Result<Outcome> {
    let mut printer = printer(args)?;
    let (since, until) = filter::time_range(&args.selectors, chrono::Utc::now())?;
    let request = GetAgentEventsRequest {
        number: number(&args.selectors),
        follow: args.selectors.follow,
        since,
        until,
        ..Default::default()
    };
    let connection = settings.connect().await?;
    settings.log_request("Sending GetAgentEvents request", &request);
    let stream = connection
        .get_agent_events(request)
        .await
        .map_err(unwrap_unknown)?;
    let outcome = print_stream(stream, &mut printer, EventPrinter::write_agent_event).await;
    // The table is written even when the stream failed, as Hubble does.
    printer.finish()?;
    outcome
}

pub async fn debug(args: &EventsArgs, settings: &Settings) -> anyhow::Result<Outcome> {
    let mut printer = printer(args)?;
    let (since, until) = filter::time_range(&args.selectors, chrono::Utc::now())?;
    let request = GetDebugEventsRequest {
        number: number(&args.selectors),
        follow: args.selectors.follow,
        since,
        until,
        ..Default::default()
    };
    let connection = settings.connect().await?;
    settings.log_request("Sending GetDebugEvents request", &request);
    let stream = connection
        .get_debug_events(request)
        .await
        .map_err(unwrap_unknown)?;
    let outcome = print_stream(stream, &mut printer, EventPrinter::write_debug_event).await;
    // The table is written even when the stream failed, as Hubble does.
    printer.finish()?;
    outcome
}

type Stdout = BufWriter<io::StdoutLock<'static>>;

fn printer(args: &EventsArgs) -> anyhow::Result<EventPrinter<Stdout>> {
    let format = match args.formatting.output {
        Output::Compact => Format::Compact,
        Output::Dict => Format::Dict,
        Output::Json | Output::Jsonpb => Format::Json,
        Output::Table => Format::Table,
    };
    if format == Format::Table && args.selectors.follow {
        bail!("table output format is not compatible with follow mode");
    }
    warn_unknown_time_format(&args.formatting.time_format, args.other.silent_errors);
    Ok(EventPrinter::new(
        format,
        time_format(&args.formatting.time_format),
        args.formatting.print_node_name,
        BufWriter::new(io::stdout().lock()),
    ))
}

/// How many events to ask for: with a time range, `--last N` as given;
/// otherwise `--all` is every one and the default 20, following or not
/// (`--first` does not apply).
fn number(selectors: &SelectorArgs) -> u64 {
    let ranged = selectors.since.is_some() || (selectors.until.is_some() && !selectors.follow);
    if ranged {
        selectors.last
    } else if selectors.all {
        u64::MAX
    } else if selectors.last > 0 {
        selectors.last
    } else {
        DEFAULT_EVENT_COUNT
    }
}

/// Hubble shows only the message of errors the server reports as Unknown
/// (its own failures, worded for users).
fn unwrap_unknown(error: SourceError) -> anyhow::Error {
    match error {
        SourceError::Status(status) if status.code() == tonic::Code::Unknown => {
            anyhow::anyhow!("{}", status.message())
        }
        other => other.into(),
    }
}

/// Prints events as they come, flushing whenever the stream idles, until it
/// ends, fails or Ctrl-C.
async fn print_stream<T, S>(
    mut stream: S,
    printer: &mut EventPrinter<Stdout>,
    write: fn(&mut EventPrinter<Stdout>, &T) -> io::Result<()>,
) -> anyhow::Result<Outcome>
where
    S: Stream<Item = Result<T, SourceError>> + Unpin,
{
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    if super::listen_for_interrupt(interrupt.as_mut()).await {
        return Ok(Outcome::Interrupted);
    }
    loop {
        let item = match tokio::time::timeout(Duration::ZERO, stream.next()).await {
            Ok(item) => item,
            Err(_idle) => {
                printer.flush()?;
                tokio::select! {
                    item = stream.next() => item,
                    _ = &mut interrupt => return Ok(Outcome::Interrupted),
                }
            }
        };
        match item {
            None => return Ok(Outcome::Success),
            Some(Ok(event)) => write(printer, &event)?,
            Some(Err(SourceError::Status(status))) if status.code() == tonic::Code::Cancelled => {
                return Ok(Outcome::Success);
            }
            Some(Err(error)) => {
                printer.flush()?;
                return Err(unwrap_unknown(error));
            }
        }
    }
}
